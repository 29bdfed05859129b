"""Kafka clients configured the one way that does not lose messages, and topic creation."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from common.events import CREDIT_TOPIC, USERS_TOPIC

logger = logging.getLogger(__name__)

_producer: KafkaProducer | None = None
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


def get_producer() -> KafkaProducer:
    """The process's producer: every write acknowledged by all replicas, idempotent (no duplicates on retry)."""
    global _producer
    with _producer_lock:
        if _producer is None:
            ensure_topics()
            _producer = KafkaProducer(
                **client_config(),
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                max_block_ms=settings.KAFKA_REQUEST_TIMEOUT_MS,
            )
        return _producer


def discard_producer() -> None:
    """Drop the producer after a failure, so the next send starts afresh (and re-creates topics)."""
    global _producer
    with _producer_lock:
        producer, _producer = _producer, None
    if producer is not None:
        try:
            producer.close(timeout=1)
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
