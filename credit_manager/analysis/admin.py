"""The credit analysis back office: policy versions, decisions with their breakdown, and the queue of
limit requests in manual review (approve or deny, with a reason)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from analysis import services
from analysis.models import CreditDecision, CreditPolicy, LimitRequest
from analysis.policy import explain, policy_errors
from common.admin import ReadOnlyInline, ReadOnlyModelAdmin

POLICY_FIELDSETS = (
    (None, {"fields": ("version", "note", "created_by", "created_at")}),
    ("Hard rules", {"fields": ("min_age", "min_monthly_income", "min_score")}),
    ("Income bands", {"fields": (
        "income_band_2_from", "income_band_3_from", "income_band_4_from",
        "income_band_1_points", "income_band_2_points", "income_band_3_points", "income_band_4_points",
    )}),
    ("Age bands", {"fields": (
        "age_band_2_from", "age_band_3_from", "age_band_4_from",
        "age_band_1_points", "age_band_2_points", "age_band_3_points", "age_band_4_points",
    )}),
    ("Account history", {"fields": (
        "no_history_points", "on_time_points", "history_periods", "history_period_days",
        "low_utilisation_points", "medium_utilisation_points", "low_utilisation_below", "high_utilisation_from",
    )}),
    ("Limit", {"fields": (
        "multiplier", "multiplier_2_from_score", "multiplier_2", "multiplier_3_from_score", "multiplier_3",
        "limit_cap", "limit_step", "manual_review_factor",
    )}),
)  # fmt: skip


class PolicyForm(forms.ModelForm):
    class Meta:
        model = CreditPolicy
        exclude = ("version", "created_by")

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            for error in policy_errors(CreditPolicy(**cleaned)):
                self.add_error(None, error)
        return cleaned


@admin.register(CreditPolicy)
class CreditPolicyAdmin(admin.ModelAdmin):
    """Saving a policy, new or edited, publishes it as the next version; no version is ever changed."""

    form = PolicyForm
    list_display = ("version", "note", "min_score", "min_age", "limit_cap", "manual_review_factor", "created_by", "created_at")
    fieldsets = POLICY_FIELDSETS
    readonly_fields = ("version", "created_by", "created_at")

    def has_delete_permission(self, request: HttpRequest, obj: CreditPolicy | None = None) -> bool:
        return False  # decisions refer to every version

    def save_model(self, request: HttpRequest, obj: CreditPolicy, form: forms.ModelForm, change: bool) -> None:
        published = services.publish_policy_version(source=obj, created_by=request.user)
        obj.pk, obj.version = published.pk, published.version  # the admin's messages and redirect show the new version
        self.message_user(request, f"Published as policy v{published.version}, in force from now on.", messages.INFO)


@admin.register(CreditDecision)
class CreditDecisionAdmin(ReadOnlyModelAdmin):
    list_display = ("score", "outcome", "granted_limit", "reasons", "trigger", "policy_version", "account", "decided_by", "created_at")
    list_filter = ("trigger", "outcome", "policy__version")
    list_select_related = ("account", "policy", "decided_by")
    search_fields = ("=account__user_id", "=account__id", "=id")
    fields = (
        "id", "account", "trigger", "outcome", "score", "reasons", "breakdown_table", "policy", "granted_limit",
        "limit_request", "decided_by", "note", "created_at",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="policy", ordering="policy__version")
    def policy_version(self, obj: CreditDecision) -> str:
        return f"v{obj.policy.version}"

    @admin.display(description="reason codes")
    def reasons(self, obj: CreditDecision) -> str:
        return ", ".join(obj.reason_codes) or "—"

    @admin.display(description="explanation")
    def breakdown_table(self, obj: CreditDecision) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((f.factor, f.value, f.band, f.points, ", ".join(f.reason_codes) or "—") for f in explain(obj.breakdown, obj.reason_codes)),
        )
        return format_html(
            "<table><thead><tr><th>factor</th><th>value</th><th>band</th><th>points</th><th>reason codes</th></tr></thead>"
            "<tbody>{}</tbody></table><details><summary>as recorded</summary><pre>{}</pre></details>",
            rows,
            json.dumps(obj.breakdown, indent=2, sort_keys=True),
        )


class DecisionInline(ReadOnlyInline):
    model = CreditDecision
    fields = ("created_at", "outcome", "score", "reason_codes", "granted_limit", "decided_by", "note")
    readonly_fields = fields
    show_change_link = True


@admin.register(LimitRequest)
class LimitRequestAdmin(ReadOnlyModelAdmin):
    """The manual review queue is the ``manual_review`` filter; a decision is asked by one operator and
    approved by a second (``approvals.admin`` adds the actions)."""

    list_display = (
        "requested_limit", "current_limit", "policy_limit", "score", "income_band", "status", "account", "created_at",
        "decided_by",
    )  # fmt: skip
    list_filter = ("status",)
    list_select_related = ("account", "decided_by")
    search_fields = ("=account__user_id", "=account__id", "=id")
    ordering = ["created_at", "id"]  # the queue: oldest first
    fields = (
        "id", "account", "requested_limit", "current_limit", "policy_limit", "score", "income_band", "status", "created_at",
        "decided_at", "decided_by", "review_reason",
    )  # fmt: skip
    readonly_fields = fields
    inlines = [DecisionInline]
    def get_queryset(self, request: HttpRequest) -> QuerySet[LimitRequest]:
        analysed = CreditDecision.objects.filter(limit_request=OuterRef("pk"), decided_by__isnull=True).order_by("created_at")
        return super().get_queryset(request).annotate(
            analysed_score=Subquery(analysed.values("score")[:1]), analysis=Subquery(analysed.values("breakdown")[:1])
        )

    @admin.display(description="current limit")
    def current_limit(self, obj: LimitRequest):
        return obj.account.credit_limit

    @admin.display(description="the policy would grant")
    def policy_limit(self, obj: LimitRequest) -> str:
        limit = (obj.analysis or {}).get("limit") or {}
        return limit.get("limit", "—")

    @admin.display(description="score", ordering="analysed_score")
    def score(self, obj: LimitRequest) -> str:
        return "—" if obj.analysed_score is None else str(obj.analysed_score)

    @admin.display(description="income band")
    def income_band(self, obj: LimitRequest) -> str:
        income = (obj.analysis or {}).get("income") or {}
        return f"{income['band']} ({income['monthly_income']})" if income else "—"
