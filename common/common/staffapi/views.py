"""The operators' API endpoints both services have: dead letters (list, replay, discard) and the audit
trail (read)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from common.audit.models import AuditEntry
from common.messaging import dead_letters
from common.messaging.models import DeadLetter
from common.staffapi.base import ReasonSerializer, needs, reason_of


class DeadLetterSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeadLetter
        fields = [
            "id", "event_id", "event_type", "subject", "reason", "origin", "payload", "dead_lettered_at", "status",
            "resolved_by", "resolved_at", "resolution_note",
        ]  # fmt: skip


class DeadLetterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Dead letters of this service, newest first (``?status=open``); replay or discard one."""

    serializer_class = DeadLetterSerializer

    def get_queryset(self):
        letters = DeadLetter.objects.order_by("-dead_lettered_at", "-id")
        status = self.request.query_params.get("status")
        return letters.filter(status=status) if status else letters

    def get_permissions(self):
        needed = "messaging.resolve_deadletter" if self.action in ("replay", "discard") else "messaging.view_deadletter"
        return [needs(needed)()]

    @extend_schema(request=None, responses=DeadLetterSerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        return Response(DeadLetterSerializer(dead_letters.replay(dead_letter_id=int(pk), by=request.user)).data)

    @extend_schema(request=ReasonSerializer, responses=DeadLetterSerializer)
    @action(detail=True, methods=["post"])
    def discard(self, request: Request, pk: str | None = None) -> Response:
        discarded = dead_letters.discard(dead_letter_id=int(pk), by=request.user, note=reason_of(request))
        return Response(DeadLetterSerializer(discarded).data)


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id", "subject_type", "subject_id", "sequence", "actor_type", "actor_id", "actor_name", "action", "request_id",
            "before", "after", "created_at", "entry_hash",
        ]  # fmt: skip


class AuditEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail, newest first; ``?subject_id=`` for one customer's or account's history."""

    serializer_class = AuditEntrySerializer
    permission_classes = [needs("audit.view_auditentry")]

    def get_queryset(self):
        entries = AuditEntry.objects.order_by("-created_at", "-id")
        subject = self.request.query_params.get("subject_id")
        return entries.filter(subject_id=subject) if subject else entries
