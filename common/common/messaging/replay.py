"""Replaying dead-lettered events: an operator hands them back to the queue workers once the cause is fixed.

Harmless to over-replay: handlers are idempotent (inbox) and versioned events never undo newer state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from kafka import KafkaConsumer, TopicPartition

from common.events import CloudEvent, InvalidEvent, parse_event
from common.messaging.kafka import client_config
from common.messaging.registry import handler_for

Dispatch = Callable[[list[CloudEvent]], None]


def replay_dead_letters(
    *,
    dispatch: Dispatch,
    since: datetime | None = None,
    until: datetime | None = None,
    event_types: frozenset[str] | None = None,
    dry_run: bool = False,
) -> Counter[str]:
    """Hand the events dead-lettered by this consumer group between ``since`` and ``until`` (of ``event_types``,
    if given) to ``dispatch``, a batch at a time; return what was found: replayed, filtered out, not an
    event of ours (a malformed message cannot be replayed), or of a type not handled here.

    Reads the dead-letter topic up to its end as it stood when the replay began, so what a replay
    dead-letters again is not read twice.
    """
    counts: Counter[str] = Counter()
    batch: list[CloudEvent] = []
    consumer = KafkaConsumer(**client_config(), group_id=None, enable_auto_commit=False)
    try:
        for record in _records(consumer, since=since):
            if not _dead_lettered_between(record, since, until):
                counts["filtered_out"] += 1
                continue
            try:
                event = parse_event(record.value)
            except InvalidEvent:
                counts["not_an_event"] += 1
                continue
            if event_types is not None and event.type not in event_types:
                counts["filtered_out"] += 1
            elif handler_for(event.type) is None:
                counts["not_handled_here"] += 1
            else:
                counts["replayed"] += 1
                batch.append(event)
                if len(batch) >= settings.EVENT_BATCH_SIZE:
                    _dispatch(batch, dispatch, dry_run)
                    batch = []
        _dispatch(batch, dispatch, dry_run)
    finally:
        consumer.close()
    return counts


def _records(consumer: KafkaConsumer, *, since: datetime | None):
    """Every record of the dead-letter topic from ``since`` to the end it had when this began."""
    topic = settings.KAFKA_DEAD_LETTER_TOPIC
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    if not partitions:
        return
    consumer.assign(partitions)
    ends = consumer.end_offsets(partitions)
    starts = consumer.offsets_for_times({p: int(since.timestamp() * 1000) for p in partitions}) if since else {}
    for partition in partitions:
        found = starts.get(partition)
        if since is None:
            consumer.seek_to_beginning(partition)
        elif found is None:  # nothing at or after ``since``
            consumer.seek(partition, ends[partition])
        else:
            consumer.seek(partition, found.offset)
    remaining = {p for p in partitions if consumer.position(p) < ends[p]}
    while remaining:
        for partition, records in consumer.poll(timeout_ms=1000).items():
            for record in records:
                if record.offset < ends[partition]:
                    yield record
            if consumer.position(partition) >= ends[partition]:
                remaining.discard(partition)


def _dead_lettered_between(record, since: datetime | None, until: datetime | None) -> bool:
    """By the record's own time (when it was dead-lettered); brokers may seek only near ``since``."""
    return (since is None or record.timestamp >= since.timestamp() * 1000) and (
        until is None or record.timestamp <= until.timestamp() * 1000
    )


def _dispatch(batch: list[CloudEvent], dispatch: Dispatch, dry_run: bool) -> None:
    if batch and not dry_run:
        dispatch(batch)
