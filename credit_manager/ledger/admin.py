"""The ledger in the back office: read-only (nothing edits or deletes a posted line); a mistake is
corrected with the reverse action, which posts the opposite transaction with the operator's reason.

The adjustment action sits on the account list but is a posting, so it lives here: this module
re-registers the accounts app's ``CreditAccountAdmin`` extended with it (Django's documented way to
extend another app's admin, as with ``UserAdmin``). ``accounts`` stays below the ledger and imports
nothing of it; the account pages keep their address (``/admin/accounts/creditaccount/``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin import CreditAccountAdmin
from accounts.models import CreditAccount
from common.admin import ReadOnlyModelAdmin, ReasonActionForm, action_reason, apply_each
from ledger import services
from ledger.models import Direction, LedgerEntry, LedgerTransaction

# Only reads the typed text as a number; whether the amount is acceptable is the service's rule.
AMOUNT = forms.DecimalField()


class AdjustmentActionForm(ReasonActionForm):
    # Free text here (the admin drops the whole action on a field error); the action reads the amount itself.
    direction = forms.ChoiceField(required=False, choices=[("", "direction…"), *Direction.choices])
    amount = forms.CharField(required=False, max_length=20, widget=forms.TextInput(attrs={"placeholder": "amount", "size": 10}))


admin.site.unregister(CreditAccount)


@admin.register(CreditAccount)
class AdjustableCreditAccountAdmin(CreditAccountAdmin):
    """The account list with the operator adjustment (``ledger.services.post_adjustment``)."""

    action_form = AdjustmentActionForm
    actions = ["adjust"]

    def has_post_adjustment_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ledger.post_adjustment")

    @admin.action(description="Post an adjustment (direction, amount and reason above)", permissions=["post_adjustment"])
    def adjust(self, request: HttpRequest, queryset: QuerySet[CreditAccount]) -> None:
        try:
            direction = Direction(request.POST.get("direction", ""))
            amount = AMOUNT.clean(request.POST.get("amount", ""))
        except (ValueError, ValidationError):
            self.message_user(request, "Choose a direction and type the amount as a number, e.g. 25.00.", messages.ERROR)
            return

        def adjust_one(account: CreditAccount) -> None:
            services.post_adjustment(
                account_id=account.id, direction=direction, amount=amount, reason=action_reason(request), created_by=request.user
            )

        apply_each(self, request, queryset, adjust_one, done="adjustment(s) posted")


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
