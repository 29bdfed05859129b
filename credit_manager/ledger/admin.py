"""The ledger in the back office: read-only (nothing edits or deletes a posted line); a mistake is
corrected with the reverse action, which posts the opposite transaction with the operator's reason."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from common.admin import ReadOnlyModelAdmin, ReasonActionForm, action_reason, apply_each
from ledger import services
from ledger.models import LedgerEntry, LedgerTransaction


class EntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ("ledger_account", "credit_account", "amount")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at",
        "account",
        "type",
        "direction",
        "amount",
        "balance_after",
        "available_after",
        "reverses",
        "created_by",
    )
    list_filter = ("type", "direction", "created_at")
    list_select_related = ("account", "reverses", "created_by")
    search_fields = ("=id", "=account__id", "=account__user_id", "external_reference")
    fields = (
        "id", "account", "type", "direction", "amount", "description", "external_reference", "reverses",
        "balance_after", "available_after", "created_by", "reason", "created_at",
    )  # fmt: skip
    readonly_fields = fields
    inlines = [EntryInline]
    action_form = ReasonActionForm
    actions = ["reverse"]

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ledger.reverse_transaction")

    @admin.action(description="Reverse selected transactions (reason above)", permissions=["reverse"])
    def reverse(self, request: HttpRequest, queryset: QuerySet[LedgerTransaction]) -> None:
        def reverse_one(transaction: LedgerTransaction) -> None:
            services.reverse_transaction(transaction_id=transaction.id, reason=action_reason(request), created_by=request.user)

        apply_each(self, request, queryset, reverse_one, done="transaction(s) reversed")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "transaction", "ledger_account", "credit_account", "amount", "created_at")
    list_filter = ("ledger_account",)
    search_fields = ("=transaction__id", "=credit_account__id")
