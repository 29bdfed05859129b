"""Exactly-once effect for at-least-once delivery: the handler and the inbox row commit together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.events import CloudEvent
from common.inbox.models import ProcessedEvent


def handle_once(event: CloudEvent, handler: Callable[[CloudEvent], None]) -> bool:
    """Run ``handler`` for ``event`` unless it already ran; return whether it ran now.

    The inbox row is inserted first (``ON CONFLICT DO NOTHING``): a concurrent duplicate waits on the
    unique key and then finds the event done. If the handler fails, the row rolls back with it.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {ProcessedEvent._meta.db_table}
                    (event_id, event_type, subject, source, occurred_at, processed_at)
                VALUES (%s, %s, %s, %s, %s, now())
                ON CONFLICT (event_id) DO NOTHING
                """,
                [event.id, event.type, event.subject, event.source, event.time],
            )
            if cursor.rowcount == 0:
                return False
        handler(event)
        return True


def purge_processed(*, older_than: timedelta | None = None) -> int:
    """Forget events processed longer ago than the retention (redeliveries come within hours, not weeks)."""
    cutoff = timezone.now() - (older_than or timedelta(days=settings.INBOX_RETENTION_DAYS))
    deleted, _ = ProcessedEvent.objects.filter(processed_at__lt=cutoff).delete()
    return deleted
