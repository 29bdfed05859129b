"""The Kafka consumer behind ``manage.py consume_kafka``: route, dispatch, commit. Nothing else.

Its own work stays tiny (one Celery task per poll's events, whatever their partitions), so a poll
never comes near ``max_poll_interval_ms``. An event is routed by its CloudEvents binary-mode header
``ce_type`` (the outbox relay sets it) and handed on as the bytes it came as: the queue worker that
applies it validates it once, and dead-letters it if it is invalid. A message without the header (another
producer) is decoded and checked here. Offsets are committed only after the hand-off; a crash in
between means a redelivery, which the idempotent handlers absorb.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from common.events import InvalidEvent, parse_event
from common.messaging.registry import handler_for

logger = logging.getLogger(__name__)

Dispatch = Callable[[list[str]], None]  # envelopes, each as its JSON text
DeadLetter = Callable[..., None]
RecordProgress = Callable[[Counter], None]


class HandOffFailed(Exception):
    """Celery (or the dead-letter topic) did not take the message: keep it and try again."""


class EventConsumer:
    def __init__(
        self,
        *,
        consumer: KafkaConsumer,
        dispatch: Dispatch,
        dead_letter: DeadLetter,
        record_progress: RecordProgress,
        batch_size: int | None = None,
        poll_timeout_ms: int = 1000,
        retry_backoff_seconds: float = 1.0,
        lost_position_check_seconds: float = 5.0,
        progress_interval_seconds: float = 1.0,
    ) -> None:
        self.consumer = consumer
        self.dispatch = dispatch
        self.dead_letter = dead_letter
        self.record_progress = record_progress
        # Events per task; by default as many as one poll can return.
        self.batch_size = batch_size or consumer.config["max_poll_records"]
        self.poll_timeout_ms = poll_timeout_ms
        self.retry_backoff_seconds = retry_backoff_seconds
        self.lost_position_check_seconds = lost_position_check_seconds
        self.progress_interval_seconds = progress_interval_seconds
        self._next_position_check = 0.0
        self._unrecorded: Counter[str] = Counter()
        self._next_progress_record = 0.0
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ask the loop to finish the current poll, commit and close (safe from a signal handler)."""
        self._stopping.set()

    def run(self) -> None:
        logger.info("consumer started", extra={"topics": sorted(self.consumer.subscription() or [])})
        try:
            while not self._stopping.is_set():
                self.poll_once()
        finally:
            self.consumer.close(autocommit=False)
            logger.info("consumer stopped")

    def poll_once(self) -> Counter:
        """Hand off one poll's messages and commit what was handed off; return the outcome counts."""
        counts: Counter[str] = Counter()
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        failed = False
        try:
            batches = self.consumer.poll(timeout_ms=self.poll_timeout_ms)
        except KafkaError as exc:
            # The broker is away (kafka-python raises from the group coordinator's poll then): nothing
            # was fetched, nothing is owed; try again after a pause instead of ending the process.
            logger.warning("poll failed, trying again: %r", exc)
            self._stopping.wait(self.retry_backoff_seconds)
            return counts
        if not batches:
            self._recover_lost_positions()
        for partition, retry_from in self._hand_off(batches, counts, offsets).items():
            self.consumer.seek(partition, retry_from)
            failed = True
        self._commit(offsets)
        self._record(counts)
        if failed:
            self._stopping.wait(self.retry_backoff_seconds)
        return counts

    def _hand_off(
        self,
        batches: dict[TopicPartition, list[ConsumerRecord]],
        counts: Counter,
        offsets: dict[TopicPartition, OffsetAndMetadata],
    ) -> dict[TopicPartition, int]:
        """Dispatch the poll's events ``batch_size`` at a time, whatever their partitions (each partition's
        in offset order), and record in ``offsets`` what was handed off. Return, for each partition not
        wholly handed off because a hand-off failed, the offset to read again from.

        One task for the events of all partitions: at a steady rate a poll brings an event or two from
        each, and a task per partition cost the queue workers a task per event. Order holds, since one
        customer's events share a partition and a task applies its events in the order given.
        """
        batch: list[str] = []
        covered: dict[TopicPartition, int] = {}  # the last offset of each partition in the batch
        try:
            for partition, messages in batches.items():
                for message in messages:
                    covered[partition] = message.offset
                    event = self._accept(message, counts)
                    if event is not None:
                        batch.append(event)
                    if len(batch) >= self.batch_size:
                        self._dispatch(batch, counts, covered, offsets)
                        batch, covered = [], {}
            self._dispatch(batch, counts, covered, offsets)
        except HandOffFailed as exc:
            retry = {}
            for partition, messages in batches.items():
                if not messages:
                    continue
                first_owed = offsets[partition].offset if partition in offsets else messages[0].offset
                if first_owed <= messages[-1].offset:
                    retry[partition] = first_owed
            logger.warning(
                "hand-off failed, will retry from %s: %s", ", ".join(f"{p.partition}@{o}" for p, o in retry.items()), exc
            )
            return retry
        return {}

    def _dispatch(
        self,
        batch: list[str],
        counts: Counter,
        covered: dict[TopicPartition, int],
        offsets: dict[TopicPartition, OffsetAndMetadata],
    ) -> None:
        """Hand the batch on (nothing to hand when the poll's last messages were all skipped or
        dead-lettered), then record the offsets it covered as handed off."""
        if batch:
            try:
                self.dispatch(batch)
            except Exception as exc:  # noqa: BLE001 - any broker failure means "not handed off"
                raise HandOffFailed(repr(exc)) from exc
            counts["handled"] += len(batch)
        offsets.update({partition: OffsetAndMetadata(last + 1, "", -1) for partition, last in covered.items()})

    def _accept(self, message: ConsumerRecord, counts: Counter) -> str | None:
        """Return the envelope to dispatch; skip types not handled here; send what cannot be an event to the DLQ."""
        try:
            event_type = _type_header(message)
            if event_type is None:  # not from our relay: check the envelope here to route it
                event_type = parse_event(message.value).type
            if handler_for(event_type) is None:
                logger.info("event type not handled here, skipped", extra={"event_type": event_type, "origin": _origin(message)})
                counts["skipped"] += 1
                return None
            return message.value.decode()
        except (InvalidEvent, UnicodeDecodeError) as exc:
            reason = str(exc) if isinstance(exc, InvalidEvent) else "not UTF-8 text"
            try:
                self.dead_letter(message.value or b"", key=message.key, reason=reason, origin=_origin(message))
            except Exception as dlq_error:  # noqa: BLE001 - the message stays until the DLQ takes it
                raise HandOffFailed(f"dead-letter topic unavailable: {dlq_error!r}") from dlq_error
            counts["dead_lettered"] += 1
            return None

    def _record(self, counts: Counter) -> None:
        """Report progress (and beat the heartbeat) at most every ``progress_interval_seconds``:
        a Redis round trip per poll would cost more than the poll under a backlog."""
        self._unrecorded.update(counts)
        now = time.monotonic()
        if now < self._next_progress_record:
            return
        self._next_progress_record = now + self.progress_interval_seconds
        try:
            self.record_progress(self._unrecorded)
        except Exception as exc:  # noqa: BLE001 - progress is for health checks; never stop consuming for it
            logger.warning("could not record the consumer's progress: %r", exc)
            return
        self._unrecorded = Counter()

    def _recover_lost_positions(self) -> None:
        """Start a partition over when the broker lost its data.

        A memory-only broker that restarts (or a topic deleted and re-created) starts offsets at zero
        again and forgets the group's committed offsets; the consumer would wait at its old position
        and miss the new messages. Everything consumed is committed before the consumer goes idle,
        so an idle partition that we have read from but whose committed offset the broker no longer
        knows means exactly that. Checked only while idle, every ``lost_position_check_seconds``.
        """
        now = time.monotonic()
        if now < self._next_position_check:
            return
        self._next_position_check = now + self.lost_position_check_seconds
        assigned = self.consumer.assignment()
        try:
            lost = [p for p in assigned if self.consumer.position(p) > 0 and self.consumer.committed(p) is None]
        except Exception as exc:  # noqa: BLE001 - the broker may be away; look again later
            logger.warning("could not check the committed offsets: %r", exc)
            return
        if lost:
            # Leave and re-join the group: a fresh assignment starts from the earliest offset, and the
            # broker's (also lost) group state is rebuilt instead of answering "rebalance in progress".
            logger.warning(
                "broker lost %s; re-joining the group to read from the start", ", ".join(f"{p.topic}/{p.partition}" for p in lost)
            )
            topics = sorted(self.consumer.subscription() or [])
            self.consumer.unsubscribe()
            self.consumer.subscribe(topics=topics)

    def _commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except KafkaError as exc:
            # A rebalance, or the coordinator away: these messages come again; handlers are idempotent.
            logger.warning("offset commit failed, messages will be redelivered: %r", exc)


def _type_header(message: ConsumerRecord) -> str | None:
    for name, value in message.headers or ():
        if name == "ce_type":
            return value.decode()
    return None


def _origin(message: ConsumerRecord) -> str:
    return f"{message.topic}/{message.partition}@{message.offset}"
