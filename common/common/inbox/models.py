"""The inbox: ids of events already handled, so a redelivered event has no second effect."""

from __future__ import annotations

from django.db import models


class ProcessedEvent(models.Model):
    event_id = models.UUIDField(primary_key=True)
    event_type = models.CharField(max_length=100)
    subject = models.CharField(max_length=200, db_index=True)
    source = models.CharField(max_length=100)
    occurred_at = models.DateTimeField(help_text="The event's own time.")
    processed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-processed_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.subject}"
