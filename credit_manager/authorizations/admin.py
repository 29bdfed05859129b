"""Card authorizations in the back office: read-only, each with its history, filtered by status, MCC,
expiring soon and over-limit captures; the reverse action releases what is held through the same
service as the API. The hold rules by MCC are edited like the credit policy: saving publishes the
category's next version."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from authorizations import services
from authorizations.models import Authorization, AuthorizationEvent, AuthorizationStatus, HoldRule
from common.admin import ReadOnlyInline, ReadOnlyModelAdmin, ReasonActionForm, action_reason, apply_each


class HoldRuleForm(forms.ModelForm):
    class Meta:
        model = HoldRule
        fields = ("mcc", "category", "expiry_days", "capture_tolerance_percent", "note")


@admin.register(HoldRule)
class HoldRuleAdmin(admin.ModelAdmin):
    """Saving a rule, new or edited, publishes it as its category's next version; no version is ever changed."""

    form = HoldRuleForm
    list_display = (
        "mcc_or_default",
        "category",
        "version",
        "expiry_days",
        "capture_tolerance_percent",
        "note",
        "created_by",
        "created_at",
    )
    list_filter = ("mcc",)
    search_fields = ("mcc", "category")
    readonly_fields = ("version", "created_by", "created_at")

    @admin.display(description="MCC", ordering="mcc")
    def mcc_or_default(self, obj: HoldRule) -> str:
        return obj.mcc or "default"

    def has_delete_permission(self, request: HttpRequest, obj: HoldRule | None = None) -> bool:
        return False  # authorizations refer to every version

    def save_model(self, request: HttpRequest, obj: HoldRule, form: forms.ModelForm, change: bool) -> None:
        published = services.publish_hold_rule(source=obj, created_by=request.user)
        obj.pk, obj.version = published.pk, published.version  # the admin's messages and redirect show the new version
        self.message_user(request, f"Published as version {published.version} of this rule, in force from now on.", messages.INFO)


class ExpiringSoonFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiring"
    WINDOWS = {"24h": ("pending, expiring within 24 hours", timedelta(hours=24)), "past": ("pending, past expiry", None)}

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.WINDOWS.items()]

    def queryset(self, request, queryset):
        if self.value() not in self.WINDOWS:
            return queryset
        now, window = timezone.now(), self.WINDOWS[self.value()][1]
        pending = queryset.filter(status=AuthorizationStatus.PENDING)
        return pending.filter(expires_at__gt=now, expires_at__lte=now + window) if window else pending.filter(expires_at__lte=now)


class HistoryInline(ReadOnlyInline):
    model = AuthorizationEvent
    fields = (
        "created_at", "kind", "amount", "outcome", "decline_reason", "final", "forced", "over_limit", "transaction",
        "balance_after", "held_after", "available_after", "created_by", "reason",
    )  # fmt: skip
    readonly_fields = fields


@admin.register(Authorization)
class AuthorizationAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at", "account", "merchant_name", "merchant_mcc", "status", "amount", "held_amount", "captured_amount",
        "released_amount", "decline_reason", "over_limit", "expires_at",
    )  # fmt: skip
    list_filter = ("status", ExpiringSoonFilter, "over_limit", "merchant_mcc", "decline_reason")
    list_select_related = ("account",)
    search_fields = ("=id", "=network_reference", "=account__id", "=account__user_id", "merchant_name")
    fields = (
        "id", "account", "network_reference", "status", "decline_reason", "requested_amount", "amount", "held_amount",
        "captured_amount", "released_amount", "merchant_name", "merchant_mcc", "merchant_country", "hold_rule",
        "expires_at", "over_limit", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = fields
    inlines = [HistoryInline]
    action_form = ReasonActionForm
    actions = ["reverse"]

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("authorizations.reverse_authorization")

    @admin.action(description="Release what the selected authorizations hold (reason above)", permissions=["reverse"])
    def reverse(self, request: HttpRequest, queryset: QuerySet[Authorization]) -> None:
        def reverse_one(authorization: Authorization) -> None:
            services.reverse(authorization_id=authorization.id, reason=action_reason(request), created_by=request.user)

        apply_each(self, request, queryset, reverse_one, done="authorization(s) reversed")
