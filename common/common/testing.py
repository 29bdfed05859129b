"""Pytest fixtures shared by the services' suites (loaded with ``-p common.testing``).

They talk to the real Postgres, Redis and Kafka of the test run; nothing here is a mock.
"""

from __future__ import annotations

import time
import uuid
from typing import Callable, Iterator

import pytest
from kafka import KafkaConsumer, TopicPartition

# Django-dependent imports happen inside the fixtures: this plugin loads before Django is set up.


@pytest.fixture
def api_client(db) -> Callable[..., object]:
    """``api_client("users:read")``: a test client that sends a freshly issued key with these scopes."""
    from django.test import Client

    from common.apikeys.services import issue_api_key

    def make(*scopes: str) -> "Client":
        _, raw_key = issue_api_key(name=f"test-{uuid.uuid4().hex[:6]}", scopes=list(scopes))
        return Client(headers={"Authorization": f"Bearer {raw_key}"})

    return make


@pytest.fixture
def kafka_topic() -> str:
    """A new topic of its own for one test."""
    from common.messaging.kafka import ensure_topics

    topic = f"test.{uuid.uuid4().hex[:12]}"
    ensure_topics([topic])
    return topic


def read_topic(topic: str, *, expect: int, timeout: float = 20.0, bootstrap_servers: str | None = None) -> list:
    """Every record of ``topic`` from the beginning, waiting until at least ``expect`` have arrived.

    Uses the service's Kafka settings unless ``bootstrap_servers`` is given (tests without Django).
    """
    if bootstrap_servers:
        config = {"bootstrap_servers": bootstrap_servers}
    else:
        from common.messaging.kafka import client_config

        config = client_config()
    consumer = KafkaConsumer(**config, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list = []
        deadline = time.monotonic() + timeout
        while len(records) < expect and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def wait_until(condition: Callable[[], object], *, timeout: float, interval: float = 0.25, what: str = "condition") -> object:
    """Poll ``condition`` until it returns something truthy (exceptions count as 'not yet')."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception:  # noqa: BLE001 - not there yet
            result = None
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache (Redis database of this suite)."""
    from django.core.cache import cache

    cache.clear()
    yield
