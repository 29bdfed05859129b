"""credit_manager's operators' API: the four-eyes queue (approve, reject, cancel) and the manual review
queue (ask for a decision), through the same services as the admin."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from analysis.models import LimitRequest, LimitRequestStatus
from approvals import services
from approvals.admin import ASKING
from approvals.models import ApprovalRequest
from common.staffapi.base import ReasonSerializer, needs, reason_of


class ApprovalRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalRequest
        fields = [
            "id", "kind", "summary", "account", "reason", "status", "requested_by", "requested_at", "expires_at", "decided_by",
            "decided_at", "decision_note", "result", "payload", "facts",
        ]  # fmt: skip


class ApprovalRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests for a second operator, oldest first (``?status=pending``)."""

    serializer_class = ApprovalRequestSerializer

    def get_queryset(self):
        requests = ApprovalRequest.objects.order_by("requested_at", "id")
        status = self.request.query_params.get("status")
        return requests.filter(status=status) if status else requests

    def get_permissions(self):
        if self.action in ("approve", "reject"):
            return [needs("approvals.decide_approvalrequest")()]
        if self.action == "cancel":
            return [needs(*ASKING, one_of=True)()]  # cancelling needs to have been able to ask
        return [needs("approvals.view_approvalrequest")()]

    @extend_schema(request=ReasonSerializer, responses=ApprovalRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return _decided(request, pk, services.approve)

    @extend_schema(request=ReasonSerializer, responses=ApprovalRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return _decided(request, pk, services.reject)

    @extend_schema(request=None, responses=ApprovalRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return Response(ApprovalRequestSerializer(services.cancel(request_id=uuid.UUID(pk), maker=request.user)).data)


class ReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = LimitRequest
        fields = ["id", "account", "requested_limit", "status", "created_at"]


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Limit requests in manual review, oldest first; asking to approve or deny one makes an approval request."""

    serializer_class = ReviewSerializer
    queryset = LimitRequest.objects.filter(status=LimitRequestStatus.MANUAL_REVIEW).order_by("created_at", "id")

    def get_permissions(self):
        if self.action in ("ask_approval", "ask_denial"):
            return [needs("analysis.review_limitrequest")()]
        return [needs("analysis.view_limitrequest")()]

    @extend_schema(request=ReasonSerializer, responses=ApprovalRequestSerializer)
    @action(detail=True, methods=["post"], url_path="ask-approval")
    def ask_approval(self, request: Request, pk: str | None = None) -> Response:
        return self._ask(request, pk, approve=True)

    @extend_schema(request=ReasonSerializer, responses=ApprovalRequestSerializer)
    @action(detail=True, methods=["post"], url_path="ask-denial")
    def ask_denial(self, request: Request, pk: str | None = None) -> Response:
        return self._ask(request, pk, approve=False)

    def _ask(self, request: Request, pk: str | None, *, approve: bool) -> Response:
        asked = services.request_limit_decision(
            limit_request_id=uuid.UUID(pk), approve=approve, reason=reason_of(request), requested_by=request.user
        )
        return Response(ApprovalRequestSerializer(asked).data, status=201)


def _decided(request: Request, pk: str | None, decide: Callable[..., ApprovalRequest]) -> Response:
    """The checker's approval or rejection (``services.approve`` or ``services.reject``), with the reason as its note."""
    decided = decide(request_id=uuid.UUID(pk), checker=request.user, note=reason_of(request))
    return Response(ApprovalRequestSerializer(decided).data)


def register(router) -> None:
    router.register("approvals", ApprovalRequestViewSet, basename="approval")
    router.register("reviews", ReviewViewSet, basename="review")
