"""The transactional outbox: events written in the same transaction as the change they announce."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class OutboxEvent(models.Model):
    """One event waiting to be (or already) published. Rows are sent in id order and purged after retention."""

    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=100)
    topic = models.CharField(max_length=200)
    key = models.CharField(max_length=200, help_text="Partition key: events of one key stay in order.")
    subject = models.CharField(max_length=200, db_index=True)
    envelope = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], name="outbox_pending_idx", condition=Q(sent_at__isnull=True)),
            models.Index(fields=["sent_at"], name="outbox_sent_at_idx", condition=Q(sent_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.subject} ({'sent' if self.sent_at else 'pending'})"
