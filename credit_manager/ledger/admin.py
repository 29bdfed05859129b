"""The ledger in the back office: read-only (nothing edits or deletes a posted line). A mistake is
corrected by a reversal and a balance by an adjustment, both asked by one operator and approved by a
second (``approvals.admin`` adds those actions to these pages)."""

from __future__ import annotations

from django.contrib import admin

from common.admin import ReadOnlyInline, ReadOnlyModelAdmin
from ledger.models import LedgerEntry, LedgerTransaction


class EntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("ledger_account", "credit_account", "amount")
    readonly_fields = fields


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyModelAdmin):
    list_display = (
        "amount", "type", "direction", "balance_after", "available_after", "created_at", "account", "reverses", "created_by"
    )  # fmt: skip
    list_filter = ("type", "direction", "created_at")
    list_select_related = ("account", "reverses", "created_by")
    search_fields = ("=id", "=account__id", "=account__user_id", "external_reference")
    fields = (
        "id", "account", "type", "direction", "amount", "description", "external_reference", "reverses",
        "balance_after", "available_after", "created_by", "reason", "created_at",
    )  # fmt: skip
    readonly_fields = fields
    inlines = [EntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "transaction", "ledger_account", "credit_account", "amount", "created_at")
    list_filter = ("ledger_account",)
    search_fields = ("=transaction__id", "=credit_account__id")
