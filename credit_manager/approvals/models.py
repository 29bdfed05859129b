"""Four eyes on money: an operator's adjustment, reversal, manual limit decision or policy version is
a request until a second operator approves it; only then does it execute, exactly as requested."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class ApprovalKind(models.TextChoices):
    ADJUSTMENT = "adjustment", "balance adjustment"
    REVERSAL = "reversal", "transaction reversal"
    LIMIT_DECISION = "limit_decision", "manual limit decision"
    POLICY_VERSION = "policy_version", "credit policy version"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "pending (waiting for a second operator)"
    EXECUTED = "executed", "approved and executed"
    REJECTED = "rejected", "rejected"
    CANCELLED = "cancelled", "cancelled by who asked"
    EXPIRED = "expired", "expired (not approved in time)"
    STALE = "stale", "stale (what it was asked on changed: ask again)"


class ApprovalRequest(models.Model):
    """What one operator asked for, and what a second one decided.

    ``payload`` is exactly what executes, ``payload_hash`` its SHA-256 (checked before it executes),
    and ``facts`` what the maker saw that must still hold (an account's status, a request still in
    review, the policy version edited): when they changed, the request is stale and is not executed
    on the new facts. The maker can never be the checker (checked in the service and by the database).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=ApprovalKind.choices)
    account = models.ForeignKey(
        "accounts.CreditAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="approval_requests"
    )
    summary = models.CharField(max_length=300, help_text="What executes, for the checker to read.")
    payload = models.JSONField()
    payload_hash = models.CharField(max_length=64)
    facts = models.JSONField(help_text="What must still hold when it executes.")
    reason = models.CharField(max_length=500, help_text="Why the maker asks.")
    status = models.CharField(max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    result = models.CharField(max_length=100, blank=True, help_text="What the execution produced (a transaction, a decision).")

    class Meta:
        ordering = ["requested_at", "id"]  # oldest first: the queue
        indexes = [models.Index(fields=["status", "requested_at"], name="approval_queue_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")), name="approval_checker_is_not_maker"
            ),
        ]
        permissions = [("decide_approvalrequest", "Can approve or reject another operator's requests")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"
