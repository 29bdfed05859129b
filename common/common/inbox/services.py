"""Exactly-once effect for at-least-once delivery, newest version wins: the handler, the inbox row and
the aggregate's applied version commit together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.audit.actors import acting_for_event
from common.events import CloudEvent, InvalidEvent
from common.inbox.models import AppliedVersion, EventOutcome, ProcessedEvent

Outcome = Literal["handled", "duplicate", "stale", "superseded"]


def data_version(event: CloudEvent) -> object:
    """The aggregate's version after the change, as the event's data carries it (``data.version``)."""
    return event.data.get("version")


@dataclass(frozen=True)
class Versioned:
    """How a handler's events find their place in their aggregate's history.

    ``aggregate`` names the kind (``customer``); the event's ``subject`` is the aggregate's id and
    ``read`` finds the number that orders its events (``data.version`` unless told otherwise). An
    event without one (published before versions were carried) is applied as it arrives.
    """

    aggregate: str
    read: Callable[[CloudEvent], object] = data_version

    def key(self, event: CloudEvent) -> str:
        return f"{self.aggregate}:{event.subject}"

    def version_of(self, event: CloudEvent) -> int | None:
        version = self.read(event)
        if version is None:
            return None
        if type(version) is not int or version < 1:
            raise InvalidEvent(f"{event.type}: its version must be a positive integer")
        return version


def handle_once(event: CloudEvent, handler: Callable[[CloudEvent], None], versioned: Versioned | None = None) -> Outcome:
    """Run ``handler`` for ``event`` unless it already ran or a newer version is applied; say which.

    For a versioned event the aggregate's applied version is raised first, in the statement that
    locks its row: two events of one aggregate apply one after the other, and an older one, whenever
    it comes, is recorded as stale and not applied. The inbox row is inserted next (``ON CONFLICT DO
    NOTHING``): a concurrent duplicate waits on the unique key and then finds the event done. If the
    handler fails, all of it rolls back.
    """
    version = versioned.version_of(event) if versioned else None
    with transaction.atomic():
        with connection.cursor() as cursor:
            newest = version is None or bool(_raise_applied_versions(cursor, {versioned.key(event): version}))
            if not _insert_processed(cursor, [event], [version], ["handled" if newest else "stale"]):
                return "duplicate"
            if not newest:
                return "stale"
        _run_handler(handler, event)
        return "handled"


@dataclass(frozen=True)
class Delivery:
    """One event of a batch, with the handler that applies it here and how its aggregate is versioned."""

    event: CloudEvent
    handler: Callable[[CloudEvent], None]
    versioned: Versioned | None = None


def handle_batch(deliveries: Sequence[Delivery]) -> list[Outcome]:
    """Apply a batch in one transaction, each event at most once, only the newest of each aggregate.

    Versioned events carry their aggregate's whole state, so within a batch only the newest of each
    aggregate needs applying: an older one that comes before it is ``superseded``, one that comes
    after it ``stale`` (as it would be, applied alone). Two statements do the bookkeeping of the
    whole batch: one raises the applied versions (row locks taken in key order, so two batches never
    wait on each other in a cycle), one inserts every inbox row. Then the handlers of what is left run
    in the batch's order. Any failure rolls the whole batch back and raises: the caller applies its
    events one by one (:func:`handle_once`), where each fails on its own.
    """
    versions = [d.versioned.version_of(d.event) if d.versioned else None for d in deliveries]
    keys = [d.versioned.key(d.event) if v is not None else None for d, v in zip(deliveries, versions, strict=True)]
    winners: dict[str, int] = {}  # aggregate key -> index of its newest event in the batch
    for index, key in enumerate(keys):
        if key is not None and (key not in winners or versions[index] > versions[winners[key]]):
            winners[key] = index
    outcomes: list[Outcome] = ["handled"] * len(deliveries)
    for index, key in enumerate(keys):
        if key is not None and winners[key] != index:
            outcomes[index] = "superseded" if index < winners[key] else "stale"
    with transaction.atomic():
        with connection.cursor() as cursor:
            raised = _raise_applied_versions(cursor, {key: versions[index] for key, index in winners.items()})
            for key, index in winners.items():
                if key not in raised:
                    outcomes[index] = "stale"
            inserted = _insert_processed(cursor, [d.event for d in deliveries], versions, outcomes)
        seen: set[object] = set()
        for index, delivery in enumerate(deliveries):
            if delivery.event.id not in inserted or delivery.event.id in seen:
                outcomes[index] = "duplicate"
            seen.add(delivery.event.id)
            if outcomes[index] == "handled":
                _run_handler(delivery.handler, delivery.event)
    return outcomes


def _run_handler(handler: Callable[[CloudEvent], None], event: CloudEvent) -> None:
    with acting_for_event(event_id=event.id, source=event.source, event_type=event.type):
        handler(event)


def _raise_applied_versions(cursor, versions: dict[str, int]) -> set[str]:
    """Record each aggregate's version as its newest, unless one as new is there, in one statement (its
    row stays locked either way); return the keys whose version rose."""
    if not versions:
        return set()
    keys = sorted(versions)
    table = AppliedVersion._meta.db_table
    cursor.execute(
        f"""
        INSERT INTO {table} AS applied (aggregate, version, applied_at)
        SELECT key, version, now() FROM unnest(%s::text[], %s::bigint[]) AS batch(key, version)
        ORDER BY key
        ON CONFLICT (aggregate) DO UPDATE SET version = EXCLUDED.version, applied_at = EXCLUDED.applied_at
        WHERE applied.version < EXCLUDED.version
        RETURNING aggregate
        """,  # nosec B608 # only the model's own table name is interpolated; every value is a parameter
        [keys, [versions[key] for key in keys]],
    )
    return {row[0] for row in cursor.fetchall()}


def _insert_processed(cursor, events: Sequence[CloudEvent], versions: list[int | None], outcomes: list[Outcome]) -> set[object]:
    """Insert the events' inbox rows in one statement; return the ids that were not there yet."""
    cursor.execute(
        f"""
        INSERT INTO {ProcessedEvent._meta.db_table}
            (event_id, event_type, subject, source, occurred_at, processed_at, outcome, version)
        SELECT event_id, event_type, subject, source, occurred_at, now(), outcome, version
        FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::bigint[])
            AS batch(event_id, event_type, subject, source, occurred_at, outcome, version)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
        """,  # nosec B608 # only the model's own table name is interpolated; every value is a parameter
        [
            [e.id for e in events], [e.type for e in events], [e.subject for e in events],
            [e.source for e in events], [e.time for e in events],
            [_STORED_OUTCOME[o] for o in outcomes], versions,
        ],
    )  # fmt: skip
    return {row[0] for row in cursor.fetchall()}


_STORED_OUTCOME = {"handled": EventOutcome.HANDLED, "stale": EventOutcome.STALE, "superseded": EventOutcome.SUPERSEDED}


def purge_processed(*, older_than: timedelta | None = None) -> int:
    """Forget events processed longer ago than the retention (redeliveries come within hours, not weeks).

    Applied versions stay: they are what keeps an old event from applying after its id is forgotten.
    """
    cutoff = timezone.now() - (older_than or timedelta(days=settings.INBOX_RETENTION_DAYS))
    deleted, _ = ProcessedEvent.objects.filter(processed_at__lt=cutoff).delete()
    return deleted
