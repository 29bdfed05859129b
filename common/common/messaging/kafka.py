"""Kafka clients configured the one way that does not lose messages, and topic creation.

The producer is librdkafka's (confluent-kafka): sending one batch of the outbox and waiting for the
broker costs a tenth of the CPU kafka-python's producer takes, which was most of the relay's cost.
Consumers and topic administration stay on kafka-python.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import confluent_kafka
from django.conf import settings
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from common.events import CREDIT_TOPIC, USERS_TOPIC

logger = logging.getLogger(__name__)

_producer: EventProducer | None = None
_producer_lock = threading.Lock()


def client_config() -> dict[str, Any]:
    return {
        "bootstrap_servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "client_id": settings.SERVICE_NAME,
        "request_timeout_ms": settings.KAFKA_REQUEST_TIMEOUT_MS,
        "bootstrap_timeout_ms": settings.KAFKA_REQUEST_TIMEOUT_MS,
        # Reconnect within seconds after a broker restart (the default backs off to 30 s).
        "reconnect_backoff_max_ms": 2000,
    }


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


_UNANSWERED = object()


class EventProducer:
    """Sends messages and waits until the broker acknowledged them, in order."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self._producer = confluent_kafka.Producer(config, logger=logger)

    def send_all(self, messages: list[Message], *, timeout: float) -> tuple[int, str]:
        """Send ``messages`` and wait at most ``timeout`` seconds: how many of the first of them the broker
        acknowledged (all, or the ones before the first that failed), and why the next one failed."""
        outcomes: list[object] = [_UNANSWERED] * len(messages)

        def delivered(index: int):
            return lambda error, _message: outcomes.__setitem__(index, error)

        for index, message in enumerate(messages):
            self._producer.produce(
                message.topic, key=message.key, value=message.value, headers=message.headers, on_delivery=delivered(index)
            )
        self._producer.flush(timeout)
        for index, outcome in enumerate(outcomes):
            if outcome is not None:
                return index, "not acknowledged in time" if outcome is _UNANSWERED else str(outcome)
        return len(messages), ""

    def close(self) -> None:
        """Drop what was not sent yet (the caller keeps it to send again) and let the connections go."""
        self._producer.purge()
        self._producer.flush(0)


def producer_config() -> dict[str, Any]:
    """Every write acknowledged by all replicas, idempotent (a retry never duplicates or reorders)."""
    timeout_ms = settings.KAFKA_REQUEST_TIMEOUT_MS
    return {
        "bootstrap.servers": ",".join(settings.KAFKA_BOOTSTRAP_SERVERS),
        "client.id": settings.SERVICE_NAME,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "request.timeout.ms": timeout_ms,
        "message.timeout.ms": timeout_ms,
        "socket.timeout.ms": timeout_ms,
        # Reconnect within seconds after a broker restart.
        "reconnect.backoff.max.ms": 2000,
    }


def get_producer() -> EventProducer:
    """The process's producer (created on first use, after making sure the topics exist)."""
    global _producer
    with _producer_lock:
        if _producer is None:
            ensure_topics()
            _producer = EventProducer(producer_config())
        return _producer


def discard_producer() -> None:
    """Drop the producer after a failure, so the next send starts afresh (and re-creates topics)."""
    global _producer
    with _producer_lock:
        producer, _producer = _producer, None
    if producer is not None:
        try:
            producer.close()
        except Exception:  # noqa: BLE001 - the producer is being thrown away
            logger.warning("kafka producer did not close cleanly", exc_info=True)


def create_consumer(*, topics: list[str], group_id: str) -> KafkaConsumer:
    """A consumer that commits only when told to and starts a new group at the earliest offset."""
    return KafkaConsumer(
        *topics,
        **client_config(),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.KAFKA_SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=max(settings.KAFKA_SESSION_TIMEOUT_MS // 3, 100),
        max_poll_interval_ms=settings.KAFKA_MAX_POLL_INTERVAL_MS,
        # A poll is at most one task's batch (the consumer hands off up to EVENT_BATCH_SIZE events per task).
        max_poll_records=settings.EVENT_BATCH_SIZE,
    )


def platform_topics() -> list[str]:
    """Every topic this service writes or reads, including its dead-letter topic."""
    return [USERS_TOPIC, CREDIT_TOPIC, settings.KAFKA_DEAD_LETTER_TOPIC]


def ensure_topics(topics: list[str] | None = None) -> list[str]:
    """Create missing topics with the configured partition count (brokers may auto-create with one).

    Returns the topics that were created.
    """
    wanted = topics or platform_topics()
    admin = KafkaAdminClient(**client_config())
    try:
        missing = [t for t in wanted if t not in set(admin.list_topics())]
        created = []
        for topic in missing:
            try:
                admin.create_topics([NewTopic(topic, settings.KAFKA_TOPIC_PARTITIONS, settings.KAFKA_TOPIC_REPLICATION)])
                created.append(topic)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
