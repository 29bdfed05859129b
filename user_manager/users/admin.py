"""The customers' back office: operators look; managers block, unblock and close through the actions.

The form never edits a customer: every change goes through ``users.services``, the one code path
that bumps the version and announces the change. Who may run the actions is Django's ``change``
permission on customers (the groups are created by a data migration).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from common.admin import apply_each, apply_each_confirmed
from common.audit.admin import history_table
from common.cpf import mask_cpf, normalize_cpf
from users import selectors, services
from users.models import Customer

CUSTOMER_FIELDS = (
    "id", "full_name", "email", "masked_tax_id", "birth_date", "monthly_income", "phone",
    "status", "version", "created_at", "updated_at",
)  # fmt: skip
CREDIT_FIELDS = (
    "credit_status", "credit_limit", "credit_held", "credit_available", "last_decision", "credit_updated_at", "credit_account_page"
)  # fmt: skip


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "full_name", "email", "masked_tax_id", "status", "credit_status", "credit_limit", "credit_available", "created_at"
    )  # fmt: skip
    list_filter = ("status", "credit_summary__status", "created_at")
    list_select_related = ("credit_summary",)
    search_fields = ("full_name", "email", "tax_id")
    actions = ["block", "unblock", "close"]
    fieldsets = (
        (None, {"fields": CUSTOMER_FIELDS}),
        ("Credit (as credit_manager last reported it)", {"fields": CREDIT_FIELDS}),
        ("Audit trail (changes by operators and API keys)", {"fields": ("audit_trail",)}),
        ("Event history", {"fields": ("event_history",)}),
    )
    readonly_fields = (*CUSTOMER_FIELDS, "tax_id", *CREDIT_FIELDS, "audit_trail", "event_history")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers register through the API

    def has_delete_permission(self, request: HttpRequest, obj: Customer | None = None) -> bool:
        return False  # closing is the (soft) delete

    def has_change_permission(self, request: HttpRequest, obj: Customer | None = None) -> bool:
        # The detail page is read-only for everyone; the change permission unlocks the actions.
        return obj is None and super().has_change_permission(request)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """A formatted CPF (123.456.789-09) finds its customer too: tax ids are stored as digits."""
        return super().get_search_results(request, queryset, normalize_cpf(search_term) or search_term)

    @admin.action(description="Block selected customers (asks to confirm, with a reason)", permissions=["change"])
    def block(self, request: HttpRequest, queryset: QuerySet[Customer]) -> TemplateResponse | None:
        return apply_each_confirmed(
            self, request, queryset, _by_operator(services.block_customer), done="customer(s) blocked",
            action="block", title="Block these customers?", confirm_label="Yes, block them",
            warning="A blocked customer's credit account is frozen: no purchases until unblocked.",
        )  # fmt: skip

    @admin.action(description="Unblock selected customers", permissions=["change"])
    def unblock(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        reason = f"unblocked by operator {request.user.get_username()}"
        apply_each(
            self, request, queryset, lambda customer: services.unblock_customer(customer_id=customer.id, reason=reason),
            done="customer(s) unblocked",
        )  # fmt: skip

    @admin.action(description="Close selected customers (final; asks to confirm, with a reason)", permissions=["change"])
    def close(self, request: HttpRequest, queryset: QuerySet[Customer]) -> TemplateResponse | None:
        return apply_each_confirmed(
            self, request, queryset, _by_operator(services.close_customer), done="customer(s) closed",
            action="close", title="Close these customers for good?", confirm_label="Yes, close them",
            warning="Closing is final: a closed customer never changes again, and their credit account closes once paid off.",
        )  # fmt: skip

    @admin.display(description="tax id")
    def masked_tax_id(self, obj: Customer) -> str:
        return mask_cpf(obj.tax_id)

    def get_fieldsets(self, request: HttpRequest, obj: Customer | None = None):
        """The whole CPF only for those allowed to see it (``users.view_full_tax_id``); masked for the rest."""
        if not request.user.has_perm("users.view_full_tax_id"):
            return self.fieldsets
        shown = tuple("tax_id" if name == "masked_tax_id" else name for name in CUSTOMER_FIELDS)
        return ((None, {"fields": shown}), *self.fieldsets[1:])

    @admin.display(description="credit status", ordering="credit_summary__status")
    def credit_status(self, obj: Customer) -> str | None:
        summary = _summary(obj)
        return summary.status if summary else None

    @admin.display(description="credit limit", ordering="credit_summary__credit_limit")
    def credit_limit(self, obj: Customer) -> Decimal | None:
        summary = _summary(obj)
        return summary.credit_limit if summary else None

    @admin.display(description="in credit_manager")
    def credit_account_page(self, obj: Customer) -> str:
        summary = _summary(obj)
        if summary is None:
            return "no credit account yet"
        url = f"{settings.CREDIT_MANAGER_ADMIN_URL.rstrip('/')}/accounts/creditaccount/{summary.account_id}/change/"
        return format_html('<a href="{}">the credit account\'s page</a>', url)

    @admin.display(description="held by card authorizations", ordering="credit_summary__held")
    def credit_held(self, obj: Customer) -> Decimal | None:
        summary = _summary(obj)
        return summary.held if summary else None

    @admin.display(description="available", ordering="credit_summary__available")
    def credit_available(self, obj: Customer) -> Decimal | None:
        summary = _summary(obj)
        return summary.available if summary else None

    @admin.display(description="last decision")
    def last_decision(self, obj: Customer) -> str | None:
        summary = _summary(obj)
        if summary is None or summary.last_decision_at is None:
            return None
        reasons = ", ".join(summary.last_decision_reason_codes) or "no reason codes"
        shown = f"{summary.last_decision_outcome} ({reasons}) at {summary.last_decision_at:%Y-%m-%d %H:%M:%S %Z}"
        if summary.last_decision_outcome == "manual_review":
            # Not a decision in force: the limit and status above are still those of the one before it.
            return f"{shown}: waiting for an operator's review; the limit above is still in force"
        return shown

    @admin.display(description="credit updated at")
    def credit_updated_at(self, obj: Customer) -> datetime | None:
        summary = _summary(obj)
        return summary.updated_at if summary else None

    @admin.display(description="changes (newest first)")
    def audit_trail(self, obj: Customer) -> str:
        return history_table(subject_type="customer", subject_id=obj.id)

    @admin.display(description="events (newest first)")
    def event_history(self, obj: Customer) -> str:
        entries = selectors.customer_event_history(customer_id=obj.id)
        if not entries:
            return "No events kept for this customer."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            ((f"{e.at:%Y-%m-%d %H:%M:%S}", e.event_type, e.direction, e.detail) for e in entries),
        )
        return format_html(
            "<table><thead><tr><th>time (UTC)</th><th>event</th><th>direction</th><th>data</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )


def _by_operator(change: Callable[..., Customer]) -> Callable[[Customer, str], Customer]:
    """The status change for one customer, with the reason the operator confirmed (the audit trail records who)."""
    return lambda customer, reason: change(customer_id=customer.id, reason=reason)


def _summary(customer: Customer) -> Any:
    """The customer's ``credit_summary`` (read through the reverse relation: users never imports
    credit_summary), or None for a customer credit_manager has not reported on yet."""
    # RelatedObjectDoesNotExist is an AttributeError.
    return getattr(customer, "credit_summary", None)
