"""Publishing through the outbox, relaying it to Kafka, and keeping it small."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import Error, connection, transaction
from django.utils import timezone

from common.events import CloudEvent, routing_headers
from common.messaging.kafka import Message, discard_producer, get_producer
from common.outbox.models import OutboxEvent

logger = logging.getLogger(__name__)

# The envelope attribute carrying the outbox row id: the order in which the service published its events.
SEQUENCE_ATTRIBUTE = "sequence"
# Only one relay drains a service's outbox at a time, so events leave in commit order.
_RELAY_LOCK_ID = 7_310_001
# What the relay process listens on: a trigger (migration outbox 0002) notifies it when rows commit.
RELAY_CHANNEL = "outbox_pending"


def publish(event: CloudEvent, *, topic: str, key: str) -> OutboxEvent:
    """Record ``event`` for publication inside the caller's transaction.

    The event is sent only if that transaction commits: its commit wakes the relay process (a
    Postgres notification sent by a trigger, at commit only), and a periodic sweep sends whatever
    that missed (no relay process running, a broker outage).
    """
    [row] = OutboxEvent.objects.bulk_create(outbox_rows([event], topic=topic, key=key))
    return row


def outbox_rows(events: Sequence[CloudEvent], *, topic: str, key: str) -> list[OutboxEvent]:
    """The rows that publish ``events`` (one key, in the order given), for the caller to insert in the
    transaction of the change they announce, with its other rows (``audit.record_all(written_with=...)``)."""
    if not connection.in_atomic_block:
        raise RuntimeError("publish() must run inside the transaction of the change it announces")
    return [
        OutboxEvent(
            event_id=event.id, event_type=event.type, topic=topic, key=key, subject=event.subject, envelope=event.to_json()
        )
        for event in events
    ]


def _wake_relay() -> None:
    """Wake the relay process when the current transaction commits (for rows made pending again)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [RELAY_CHANNEL])


@dataclass(frozen=True)
class RelayResult:
    sent: int
    failed: int
    skipped_locked: bool = False


def relay_pending(*, batch_size: int | None = None) -> RelayResult:
    """Take the relay lock, send what is pending (``send_pending``) and let the lock go.

    One relay at a time (a session advisory lock), so rows are read without row locks and never
    through a "last id seen" cursor (which would skip a lower id committed after a higher one).
    The periodic sweep and ``replay_outbox`` relay this way; the relay process keeps the lock.
    """
    with _relay_lock() as held:
        if not held:
            return RelayResult(sent=0, failed=0, skipped_locked=True)
        return send_pending(batch_size=batch_size)


def send_pending(*, batch_size: int | None = None) -> RelayResult:
    """Send pending rows in id order until none is left; mark each sent only after Kafka acknowledged it.

    The caller holds the relay lock. No transaction is open while the broker is waited for: the
    wait (at most ``KAFKA_REQUEST_TIMEOUT_MS`` per batch) holds back other relays only, never a
    writer of the outbox. Stops at the first failure and leaves the rest pending. Two statements a
    batch, in SQL of their own: the envelope comes out of Postgres as the text that is sent.
    """
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    sent = 0
    while True:
        rows = _pending(batch_size)
        acked, failed = _send_and_mark(rows) if rows else ([], [])
        sent += len(acked)
        if failed:
            return RelayResult(sent=sent, failed=len(failed))
        if len(rows) < batch_size:
            return RelayResult(sent=sent, failed=0)


@dataclass(frozen=True)
class PendingEvent:
    id: int
    event_id: uuid.UUID
    event_type: str
    topic: str
    key: str
    value: bytes
    """The envelope as sent: with its publication ``sequence`` (CloudEvents' extension of that name)."""


_TABLE = OutboxEvent._meta.db_table


def _pending(limit: int) -> list[PendingEvent]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id, event_id, event_type, topic, key, (envelope || jsonb_build_object(%s, id))::text
            FROM {_TABLE} WHERE sent_at IS NULL ORDER BY id LIMIT %s
            """,  # nosec B608 # only the model's own table name is interpolated; every value is a parameter
            [SEQUENCE_ATTRIBUTE, limit],
        )
        return [PendingEvent(*row[:5], value=row[5].encode()) for row in cursor.fetchall()]


def _send_and_mark(rows: list[PendingEvent]) -> tuple[list[PendingEvent], list[PendingEvent]]:
    acked, error = _send(rows)
    failed = rows[len(acked) :]
    # Each a statement of its own (autocommit): the two facts need no transaction together.
    with connection.cursor() as cursor:
        if acked:
            cursor.execute(
                f"UPDATE {_TABLE} SET sent_at = now() WHERE id = ANY(%s)",  # nosec B608 # the model's own table
                [[row.id for row in acked]],
            )
        if failed:
            cursor.execute(
                f"UPDATE {_TABLE} SET attempts = attempts + 1, last_error = %s WHERE id = ANY(%s)",  # nosec B608 # the model's own table
                [error[:2000], [row.id for row in failed]],
            )
    return acked, failed


def try_relay_lock() -> bool:
    """Take the service's relay lock for this connection's session, if no other relay holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_RELAY_LOCK_ID])
        return bool(cursor.fetchone()[0])


def release_relay_lock() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_RELAY_LOCK_ID])
    except Error:  # the connection broke: the server released the lock with it
        logger.warning("could not release the relay lock; its connection is gone")


@contextmanager
def _relay_lock() -> Iterator[bool]:
    """Hold the service's relay lock for the block (a session lock: no transaction stays open)."""
    held = try_relay_lock()
    try:
        yield held
    finally:
        if held:
            release_relay_lock()


def _send(rows: list[PendingEvent]) -> tuple[list[PendingEvent], str]:
    """Send rows and wait for the broker; return the acknowledged prefix and the error that stopped it."""
    messages = [Message(row.topic, row.key.encode(), row.value, routing_headers(row.event_type, row.event_id)) for row in rows]
    try:
        sent, error = get_producer().send_all(messages, timeout=settings.KAFKA_REQUEST_TIMEOUT_MS / 1000)
    except Exception as exc:  # noqa: BLE001 - any client failure leaves the rows pending
        sent, error = 0, repr(exc)
    if sent < len(rows):
        discard_producer()
        logger.warning("outbox relay stopped at event %s: %s", rows[sent].event_id, error)
    return rows[:sent], error


def publication_sequence(event: CloudEvent) -> int | None:
    """The order in which this service published its events (None before events carried it).

    The outbox row's id: a change and its events commit under the aggregate's row lock, so one
    aggregate's events get increasing numbers in the order they happened, whichever relay sends them.
    """
    return (event.model_extra or {}).get(SEQUENCE_ATTRIBUTE)


def purge_sent(*, older_than: timedelta | None = None) -> int:
    """Delete rows sent longer ago than the retention period; a table of dead rows slows the relay."""
    cutoff = timezone.now() - (older_than or timedelta(hours=settings.OUTBOX_RETENTION_HOURS))
    deleted, _ = OutboxEvent.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


def replay_since(since: datetime) -> int:
    """Mark rows created since ``since`` as pending again, e.g. after a broker lost its data.

    Harmless to over-replay: every consumer is idempotent by event id.
    """
    with transaction.atomic():
        count = OutboxEvent.objects.filter(created_at__gte=since, sent_at__isnull=False).update(sent_at=None)
        _wake_relay()
    return count
