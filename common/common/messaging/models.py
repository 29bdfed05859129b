"""Dead letters as the back office sees them: each message this service dead-lettered, with why and
where from, until an operator replays or discards it. The dead-letter topic stays the durable record
(``manage.py replay_dead_letters`` reads it); these rows are its console."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DeadLetterStatus(models.TextChoices):
    OPEN = "open", "open"
    REPLAYED = "replayed", "replayed"
    DISCARDED = "discarded", "discarded"


class DeadLetter(models.Model):
    event_id = models.CharField(max_length=100, blank=True, db_index=True, help_text="Empty when the message is not an event.")
    event_type = models.CharField(max_length=100, blank=True)
    subject = models.CharField(max_length=100, blank=True, help_text="The customer the event is about.")
    reason = models.TextField()
    origin = models.CharField(max_length=200, help_text="Where it failed: topic/partition@offset, or a task attempt.")
    payload = models.TextField(help_text="The message as it was dead-lettered.")
    dead_lettered_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=10, choices=DeadLetterStatus.choices, default=DeadLetterStatus.OPEN, db_index=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-dead_lettered_at", "-id"]
        permissions = [("resolve_deadletter", "Can replay or discard dead-lettered events")]

    def __str__(self) -> str:
        return f"{self.event_type or 'unreadable message'} ({self.status})"
