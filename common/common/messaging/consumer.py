"""The Kafka consumer behind ``manage.py consume_kafka``: decode, validate, dispatch, commit. Nothing else.

Its own work stays tiny (a hand-off to Celery per event), so a poll never comes near
``max_poll_interval_ms``. Offsets are committed only after the hand-off; a crash in between
means a redelivery, which the idempotent handlers absorb.
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

from common.events import CloudEvent, InvalidEvent, parse_event, payload_of
from common.messaging.registry import handler_for

logger = logging.getLogger(__name__)

Dispatch = Callable[[CloudEvent], None]
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
        poll_timeout_ms: int = 1000,
        retry_backoff_seconds: float = 1.0,
        lost_position_check_seconds: float = 5.0,
    ) -> None:
        self.consumer = consumer
        self.dispatch = dispatch
        self.dead_letter = dead_letter
        self.record_progress = record_progress
        self.poll_timeout_ms = poll_timeout_ms
        self.retry_backoff_seconds = retry_backoff_seconds
        self.lost_position_check_seconds = lost_position_check_seconds
        self._next_position_check = 0.0
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
        batches = self.consumer.poll(timeout_ms=self.poll_timeout_ms)
        if not batches:
            self._recover_lost_positions()
        for partition, messages in batches.items():
            for message in messages:
                try:
                    counts[self._hand_off(message)] += 1
                except HandOffFailed as exc:
                    logger.warning("hand-off failed, will retry from offset %s: %s", message.offset, exc)
                    self.consumer.seek(partition, message.offset)
                    failed = True
                    break
                offsets[partition] = OffsetAndMetadata(message.offset + 1, "", -1)
        self._commit(offsets)
        self.record_progress(counts)
        if failed:
            self._stopping.wait(self.retry_backoff_seconds)
        return counts

    def _hand_off(self, message: ConsumerRecord) -> str:
        origin = f"{message.topic}/{message.partition}@{message.offset}"
        try:
            event = parse_event(message.value)
            if handler_for(event.type) is None:
                logger.info("event type not handled here, skipped", extra={"event_type": event.type, "origin": origin})
                return "skipped"
            payload_of(event)
        except InvalidEvent as exc:
            try:
                self.dead_letter(message.value or b"", key=message.key, reason=str(exc), origin=origin)
            except Exception as dlq_error:  # noqa: BLE001 - the message stays until the DLQ takes it
                raise HandOffFailed(f"dead-letter topic unavailable: {dlq_error!r}") from dlq_error
            return "dead_lettered"
        try:
            self.dispatch(event)
        except Exception as exc:  # noqa: BLE001 - any broker failure means "not handed off"
            raise HandOffFailed(repr(exc)) from exc
        return "handled"

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
            logger.warning("broker lost %s; re-joining the group to read from the start", ", ".join(f"{p.topic}/{p.partition}" for p in lost))
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
