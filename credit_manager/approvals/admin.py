"""The four-eyes queue: requests oldest first, pending ones on top; a checker approves or rejects
(never their own), the maker cancels. The other back office screens ask through ``approvals.services``
instead of acting at once."""

from __future__ import annotations

import json
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts.admin import CreditAccountAdmin
from accounts.models import CreditAccount
from analysis.admin import CreditPolicyAdmin, LimitRequestAdmin
from analysis.models import CreditPolicy, LimitRequest, LimitRequestStatus
from approvals import services
from approvals.models import ApprovalRequest, ApprovalStatus
from common.admin import ReadOnlyModelAdmin, ReasonActionForm, action_reason, apply_each, confirmed_reason
from common.backoffice import dashboard
from common.backoffice.dashboard import Figure
from common.errors import DomainError
from ledger.admin import LedgerTransactionAdmin
from ledger.models import Direction, LedgerTransaction

# The permissions that let an operator ask for a decision (the actions below on the other screens).
ASKING = (
    "ledger.post_adjustment", "ledger.reverse_transaction", "analysis.review_limitrequest", "analysis.add_creditpolicy",
    "analysis.change_creditpolicy",
)  # fmt: skip


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyModelAdmin):
    list_display = (
        "requested_at", "kind", "summary", "reason", "requested_by", "status", "expires_at", "decided_by", "result"
    )  # fmt: skip
    list_filter = ("status", "kind")
    list_select_related = ("requested_by", "decided_by", "account")
    search_fields = ("=id", "=account__id", "=account__user_id", "summary")
    fields = (
        "id", "kind", "summary", "account", "reason", "status", "requested_by", "requested_at", "expires_at", "decided_by",
        "decided_at", "decision_note", "result", "what_executes", "facts_checked", "payload_hash",
    )  # fmt: skip
    readonly_fields = fields
    action_form = ReasonActionForm
    actions = ["approve", "reject", "cancel"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("approvals.decide_approvalrequest")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        """Those who may ask may cancel (their own requests: the service checks who asked)."""
        return any(request.user.has_perm(permission) for permission in ASKING)

    @admin.action(description="Approve and execute the selected requests (not your own)", permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]) -> None:
        apply_each(
            self, request, queryset,
            lambda row: services.approve(request_id=row.id, checker=request.user, note=action_reason(request)),
            done="request(s) approved and executed",
        )  # fmt: skip

    @admin.action(description="Reject the selected requests (reason above; not your own)", permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]) -> None:
        apply_each(
            self, request, queryset,
            lambda row: services.reject(request_id=row.id, checker=request.user, note=action_reason(request)),
            done="request(s) rejected",
        )  # fmt: skip

    @admin.action(description="Cancel the selected requests (your own)", permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]) -> None:
        apply_each(
            self,
            request,
            queryset,
            lambda row: services.cancel(request_id=row.id, maker=request.user),
            done="request(s) cancelled",
        )

    @admin.display(description="what executes")
    def what_executes(self, obj: ApprovalRequest) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    @admin.display(description="what must still hold")
    def facts_checked(self, obj: ApprovalRequest) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.facts, indent=2, sort_keys=True))


# The screens where money decisions are asked for: each re-registers its app's admin (Django's way to
# extend another app's admin, as ``UserAdmin``) with actions that ask for approval instead of acting.
# The apps below stay unaware of four eyes and keep their pages' addresses.

# Only reads the typed text as a number; whether the amount is acceptable is the service's rule.
AMOUNT = forms.DecimalField()


class AdjustmentActionForm(ReasonActionForm):
    # Free text here (the admin drops the whole action on a field error); the action reads the amount itself.
    direction = forms.ChoiceField(required=False, choices=[("", "direction…"), *Direction.choices])
    amount = forms.CharField(required=False, max_length=20, widget=forms.TextInput(attrs={"placeholder": "amount", "size": 10}))


def _ask_each(model_admin: admin.ModelAdmin, request: HttpRequest, rows, ask: Callable[[object], object], *, done: str) -> None:
    """``ask`` for each selected row (a service refusing one does not stop the others), then point to the queue."""
    asked = []
    apply_each(model_admin, request, rows, lambda row: asked.append(ask(row)), done=done)
    _point_to_the_queue(model_admin, request, len(asked))


def _point_to_the_queue(model_admin: admin.ModelAdmin, request: HttpRequest, count: int) -> None:
    if count:
        queue = reverse("admin:approvals_approvalrequest_changelist") + "?status__exact=pending"
        model_admin.message_user(
            request,
            format_html(
                '{} request(s) asked: a second operator approves them in <a href="{}">the approvals queue</a>.', count, queue
            ),
            messages.INFO,
        )


admin.site.unregister(CreditAccount)


@admin.register(CreditAccount)
class FourEyesCreditAccountAdmin(CreditAccountAdmin):
    """The account list with an adjustment asked for approval."""

    action_form = AdjustmentActionForm
    actions = ["ask_adjustment"]
    fields = (*CreditAccountAdmin.fields, "pending_requests")
    readonly_fields = fields

    @admin.display(description="waiting for approval")
    def pending_requests(self, obj: CreditAccount) -> str:
        pending = ApprovalRequest.objects.filter(account=obj, status=ApprovalStatus.PENDING).select_related("requested_by")
        links = format_html_join(
            "",
            '<li><a href="{}">{}</a> (asked by {} at {})</li>',
            (
                (
                    reverse("admin:approvals_approvalrequest_change", args=[r.id]),
                    r.summary,
                    r.requested_by,
                    f"{r.requested_at:%Y-%m-%d %H:%M:%S}",
                )
                for r in pending
            ),
        )
        return format_html("<ul>{}</ul>", links) if pending else "—"

    def has_post_adjustment_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ledger.post_adjustment")

    @admin.action(description="Ask for an adjustment (direction, amount and reason above)", permissions=["post_adjustment"])
    def ask_adjustment(self, request: HttpRequest, queryset: QuerySet[CreditAccount]) -> None:
        try:
            direction = Direction(request.POST.get("direction", ""))
            amount = AMOUNT.clean(request.POST.get("amount", ""))
        except (ValueError, ValidationError):
            self.message_user(request, "Choose a direction and type the amount as a number, e.g. 25.00.", messages.ERROR)
            return
        _ask_each(
            self, request, queryset,
            lambda account: services.request_adjustment(
                account_id=account.id, direction=direction, amount=amount, reason=action_reason(request), requested_by=request.user
            ),
            done="adjustment(s) asked",
        )  # fmt: skip


admin.site.unregister(LedgerTransaction)


@admin.register(LedgerTransaction)
class FourEyesLedgerTransactionAdmin(LedgerTransactionAdmin):
    """The transactions with their reversal asked for approval."""

    action_form = ReasonActionForm
    actions = ["ask_reversal"]
    fields = (*LedgerTransactionAdmin.fields, "reverse_button")
    readonly_fields = fields

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ledger.reverse_transaction")

    def get_urls(self):
        ask = path(
            "<uuid:transaction_id>/ask-reversal/", self.admin_site.admin_view(self.ask_reversal_page), name="ledger_ask_reversal"
        )
        return [ask, *super().get_urls()]

    @admin.display(description="reversal")
    def reverse_button(self, obj: LedgerTransaction) -> str:
        if hasattr(obj, "reversed_by"):
            return format_html(
                'reversed by <a href="{}">{}</a>',
                reverse("admin:ledger_ledgertransaction_change", args=[obj.reversed_by.id]),
                obj.reversed_by,
            )
        if obj.type == "reversal":
            return "a reversal is not reversed: post a new transaction"
        return format_html('<a class="button" href="{}">Reverse…</a>', reverse("admin:ledger_ask_reversal", args=[obj.id]))

    def ask_reversal_page(self, request: HttpRequest, transaction_id) -> HttpResponse:
        """The transaction page's Reverse button: what it reverses, a reason, then the request for a second operator."""
        if not self.has_reverse_permission(request):
            raise PermissionDenied
        original = LedgerTransaction.objects.select_related("account").filter(id=transaction_id).first()
        if original is None:
            raise Http404
        page = reverse("admin:ledger_ledgertransaction_change", args=[original.id])
        reason = confirmed_reason(
            self, request, [original], action="ask_reversal", title="Reverse this transaction?", confirm_label="Ask for the reversal",
            warning=f"This asks for the opposite of the {original.type} of {original.amount:.2f} posted "
            f"{original.created_at:%Y-%m-%d %H:%M:%S} on the {original.account} (balance now {original.account.balance:.2f}); "
            "a second operator approves it before it is posted.",
            back=page,
        )  # fmt: skip
        if isinstance(reason, TemplateResponse):
            return reason
        try:
            asked = services.request_reversal(transaction_id=original.id, reason=reason, requested_by=request.user)
        except DomainError as exc:
            self.message_user(request, f"Refused ({exc.code}: {exc.detail}).", messages.WARNING)
            return HttpResponseRedirect(page)
        _point_to_the_queue(self, request, 1)
        return HttpResponseRedirect(reverse("admin:approvals_approvalrequest_change", args=[asked.id]))

    @admin.action(description="Ask for the reversal of the selected transactions (reason above)", permissions=["reverse"])
    def ask_reversal(self, request: HttpRequest, queryset: QuerySet[LedgerTransaction]) -> None:
        _ask_each(
            self, request, queryset,
            lambda row: services.request_reversal(transaction_id=row.id, reason=action_reason(request), requested_by=request.user),
            done="reversal(s) asked",
        )  # fmt: skip


admin.site.unregister(LimitRequest)


@admin.register(LimitRequest)
class FourEyesLimitRequestAdmin(LimitRequestAdmin):
    """The manual review queue with its decisions asked for approval."""

    action_form = ReasonActionForm
    actions = ["ask_approval", "ask_denial"]

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("analysis.review_limitrequest")

    @admin.action(description="Ask to approve the selected manual reviews (reason above)", permissions=["review"])
    def ask_approval(self, request: HttpRequest, queryset: QuerySet[LimitRequest]) -> None:
        self._ask(request, queryset, approve=True)

    @admin.action(description="Ask to deny the selected manual reviews (reason above)", permissions=["review"])
    def ask_denial(self, request: HttpRequest, queryset: QuerySet[LimitRequest]) -> None:
        self._ask(request, queryset, approve=False)

    def _ask(self, request: HttpRequest, queryset: QuerySet[LimitRequest], *, approve: bool) -> None:
        _ask_each(
            self, request, queryset,
            lambda row: services.request_limit_decision(
                limit_request_id=row.id, approve=approve, reason=action_reason(request), requested_by=request.user
            ),
            done="decision(s) asked",
        )  # fmt: skip


admin.site.unregister(CreditPolicy)


@admin.register(CreditPolicy)
class FourEyesCreditPolicyAdmin(CreditPolicyAdmin):
    """Saving a policy, new or edited, asks for its publication as the next version; a second operator
    approves it in the queue, and no version is ever changed."""

    def save_model(self, request: HttpRequest, obj: CreditPolicy, form: forms.ModelForm, change: bool) -> None:
        obj.approval_request = services.request_policy_version(source=obj, requested_by=request.user)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets, change: bool) -> None:
        """Nothing was saved: the policy is published when approved."""

    def log_addition(self, request, obj, message):
        """Nothing was added yet."""

    def log_change(self, request, obj, message):
        """Nothing was changed."""

    def response_add(self, request: HttpRequest, obj: CreditPolicy, post_url_continue=None) -> HttpResponse:
        return self._to_the_request(request, obj)

    def response_change(self, request: HttpRequest, obj: CreditPolicy) -> HttpResponse:
        return self._to_the_request(request, obj)

    def _to_the_request(self, request: HttpRequest, obj: CreditPolicy) -> HttpResponse:
        self.message_user(
            request,
            "Asked: the new policy version is published when a second operator approves it (nothing is in force yet).",
            messages.INFO,
        )
        return HttpResponseRedirect(reverse("admin:approvals_approvalrequest_change", args=[obj.approval_request.id]))


def _waiting() -> list[Figure]:
    """credit_manager's queues on the admin's index: reviews to decide, requests to approve."""
    reviews = LimitRequest.objects.filter(status=LimitRequestStatus.MANUAL_REVIEW).count()
    pending = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING)
    oldest = pending.order_by("requested_at").values_list("requested_at", flat=True).first()
    return [
        Figure(
            "limit requests waiting for a review",
            str(reviews),
            reverse("admin:analysis_limitrequest_changelist") + "?status__exact=manual_review",
        ),
        Figure(
            "requests waiting for a second operator",
            f"{pending.count()}" + (f", the oldest asked {oldest:%Y-%m-%d %H:%M:%S}" if oldest else ""),
            reverse("admin:approvals_approvalrequest_changelist") + "?status__exact=pending",
        ),
    ]


dashboard.register(_waiting)
