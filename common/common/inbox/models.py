"""The inbox: ids of events already handled, and the newest version applied of each aggregate.

Together they give "at most once, newest wins": a redelivered event has no second effect, and an
event older than one already applied is recorded as stale instead of undoing the newer state.
"""

from __future__ import annotations

from django.db import models


class EventOutcome(models.TextChoices):
    HANDLED = "handled"
    STALE = "stale", "stale (older than the version applied)"
    SUPERSEDED = "superseded", "superseded (a newer version in the same batch applied)"


class ProcessedEvent(models.Model):
    event_id = models.UUIDField(primary_key=True)
    event_type = models.CharField(max_length=100)
    subject = models.CharField(max_length=200, db_index=True)
    source = models.CharField(max_length=100)
    occurred_at = models.DateTimeField(help_text="The event's own time.")
    processed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(max_length=10, choices=EventOutcome.choices, default=EventOutcome.HANDLED)
    version = models.BigIntegerField(null=True, blank=True, help_text="The aggregate's version the event carried.")

    class Meta:
        ordering = ["-processed_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.subject}"


class AppliedVersion(models.Model):
    """The newest version of one aggregate (``<kind>:<id>``) applied in this service. Never purged:
    one small row per aggregate, and forgetting it would let an old event apply again."""

    aggregate = models.CharField(max_length=200, primary_key=True)
    version = models.BigIntegerField()
    applied_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.aggregate} v{self.version}"
