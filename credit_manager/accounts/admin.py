"""Credit accounts in the back office: read-only (every change goes through the services), with filters
for status, accounts at or over their limit and utilisation, and links to the account's history.

The ledger's admin extends this one with the adjustment action (accounts is below the ledger, so it
knows nothing of postings).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import NullIf
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts import selectors
from accounts.models import CreditAccount
from accounts.services import AUDITED_AS
from common.admin import ReadOnlyModelAdmin
from common.audit.admin import history_table


class AtOrOverLimitFilter(admin.SimpleListFilter):
    title = "limit"
    parameter_name = "over_limit"

    def lookups(self, request, model_admin):
        return [("yes", "at or over the limit (no credit available)"), ("no", "credit available")]

    def queryset(self, request, queryset):
        owed_and_held = F("balance") + F("held")
        at_or_over = Q(credit_limit__lte=owed_and_held) & (Q(balance__gt=0) | Q(held__gt=0))
        if self.value() == "yes":
            return queryset.filter(at_or_over)
        if self.value() == "no":
            return queryset.exclude(at_or_over)
        return queryset


class UtilisationFilter(admin.SimpleListFilter):
    title = "utilisation (balance / limit)"
    parameter_name = "utilisation"
    BANDS = {
        "low": ("under 30%", Q(utilisation__lt=Decimal("0.30"))),
        "medium": ("30% to 70%", Q(utilisation__gte=Decimal("0.30"), utilisation__lt=Decimal("0.70"))),
        "high": ("70% to 100%", Q(utilisation__gte=Decimal("0.70"), utilisation__lt=1)),
        "full": ("100% or more", Q(utilisation__gte=1)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.BANDS.items()]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value() or "")
        return queryset.filter(band[1]) if band else queryset


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyModelAdmin):
    list_display = (
        "customer", "credit_limit", "balance", "held", "available", "utilisation_percent", "status", "current_outcome", "opened_at"
    )  # fmt: skip
    list_filter = ("status", AtOrOverLimitFilter, UtilisationFilter)
    search_fields = ("customer_name",)  # the search itself is accounts_matching: name, email, CPF in any form, ids
    search_help_text = "The customer's name, email or CPF (formatted, digits or masked), or an account or customer id."
    fields = (
        "id", "customer", "customer_email_masked", "user_id", "customer_page", "status", "credit_limit", "balance", "held", "available", "over_limit", "currency",
        "decision_in_force", "latest_decision", "version", "birth_date", "monthly_income", "opened_at", "updated_at", "history", "audit_trail",
    )  # fmt: skip
    readonly_fields = fields

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[CreditAccount], search_term: str):
        return selectors.accounts_matching(queryset, search_term), False

    @admin.display(description="customer", ordering="customer_name")
    def customer(self, obj: CreditAccount) -> str:
        return f"{obj.customer_name} ({obj.customer_tax_id_masked})" if obj.customer_name else str(obj.user_id)

    @admin.display(description="in user_manager")
    def customer_page(self, obj: CreditAccount) -> str:
        url = f"{settings.USER_MANAGER_ADMIN_URL.rstrip('/')}/users/customer/{obj.user_id}/change/"
        return format_html('<a href="{}">the customer\'s page</a>', url)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CreditAccount]:
        utilisation = ExpressionWrapper(F("balance") / NullIf(F("credit_limit"), 0), output_field=DecimalField())
        return super().get_queryset(request).annotate(utilisation=utilisation)

    @admin.display(description="utilisation", ordering="utilisation")
    def utilisation_percent(self, obj: CreditAccount) -> str:
        return "—" if obj.utilisation is None else f"{obj.utilisation:.0%}"

    @admin.display(description="current decision")
    def current_outcome(self, obj: CreditAccount) -> str:
        return obj.current_decision.outcome if obj.current_decision else "—"

    @admin.display(description="current decision")
    def decision_in_force(self, obj: CreditAccount) -> str:
        decision = obj.current_decision
        if decision is None:
            return "—"
        return format_html(
            '<a href="{}">{} (score {}, policy v{}, {})</a>',
            reverse("admin:analysis_creditdecision_change", args=[decision.id]),
            decision.outcome,
            decision.score,
            decision.policy_version,
            decision.trigger,
        )

    @admin.display(description="changes by operators and API keys (newest first)")
    def audit_trail(self, obj: CreditAccount) -> str:
        return history_table(subject_type=AUDITED_AS, subject_id=obj.id)

    @admin.display(description="latest decision")
    def latest_decision(self, obj: CreditAccount) -> str:
        """A decision that left the account as it is (a limit request denied, or waiting for review),
        shown apart from the one in force."""
        latest, in_force = obj.last_decision, obj.current_decision
        if latest is None or (in_force is not None and latest.id == in_force.id):
            return "the decision in force"
        waiting = " (waiting for an operator's review)" if latest.outcome == "manual_review" else " (not in force)"
        return format_html(
            '<a href="{}">{} {}</a>{}',
            reverse("admin:analysis_creditdecision_change", args=[latest.id]),
            latest.outcome,
            ", ".join(latest.reason_codes),
            waiting,
        )

    @admin.display(description="history")
    def history(self, obj: CreditAccount) -> str:
        decisions = reverse("admin:analysis_creditdecision_changelist") + f"?account__id__exact={obj.id}"
        transactions = reverse("admin:ledger_ledgertransaction_changelist") + f"?account__id__exact={obj.id}"
        requests = reverse("admin:analysis_limitrequest_changelist") + f"?account__id__exact={obj.id}"
        authorizations = reverse("admin:authorizations_authorization_changelist") + f"?account__id__exact={obj.id}"
        return format_html(
            '<a href="{}">decisions</a> · <a href="{}">transactions</a> · <a href="{}">limit requests</a>'
            ' · <a href="{}">card authorizations</a>',
            decisions,
            transactions,
            requests,
            authorizations,
        )
