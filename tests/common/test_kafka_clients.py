"""Kafka clients are configured the one way that loses nothing, and topics get their partitions."""

import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from common.messaging.kafka import (
    EventProducer,
    Message,
    create_consumer,
    discard_producer,
    ensure_topics,
    get_producer,
    producer_config,
)
from common.testing import read_topic

pytestmark = pytest.mark.integration


def test_the_producer_waits_for_all_replicas_and_is_idempotent():
    discard_producer()
    try:
        config = get_producer().config
        assert config["acks"] == "all" and config["enable.idempotence"] is True
    finally:
        discard_producer()


def test_the_consumer_commits_only_when_told_and_starts_new_groups_at_the_earliest_offset(kafka_topic):
    consumer = create_consumer(topics=[kafka_topic], group_id=f"g-{uuid.uuid4().hex[:6]}")
    try:
        assert consumer.config["enable_auto_commit"] is False
        assert consumer.config["auto_offset_reset"] == "earliest"
    finally:
        consumer.close()


def test_topics_are_created_with_the_configured_partition_count():
    """Brokers that auto-create topics give them one partition; ours are created explicitly."""
    topic = f"test.partitions.{uuid.uuid4().hex[:8]}"
    with override_settings(KAFKA_TOPIC_PARTITIONS=4):
        assert ensure_topics([topic]) == [topic]
        assert ensure_topics([topic]) == []
    consumer = create_consumer(topics=[topic], group_id=None)
    try:
        assert len(consumer.partitions_for_topic(topic)) == 4
    finally:
        consumer.close()
    assert settings.KAFKA_TOPIC_PARTITIONS == 3


def test_the_producer_answers_how_many_messages_the_broker_acknowledged(kafka_topic):
    discard_producer()
    try:
        messages = [Message(kafka_topic, key=b"k", value=f"{n}".encode()) for n in range(3)]
        assert get_producer().send_all(messages, timeout=10) == (3, "")
    finally:
        discard_producer()
    assert [r.value for r in read_topic(kafka_topic, expect=3)] == [b"0", b"1", b"2"]


def test_a_broker_that_cannot_be_reached_acknowledges_none_within_the_timeout():
    with override_settings(KAFKA_BOOTSTRAP_SERVERS=["127.0.0.1:9"]):
        producer = EventProducer(producer_config())
        try:
            assert producer.send_all([Message("t", key=b"k", value=b"x")], timeout=1) == (0, "not acknowledged in time")
        finally:
            producer.close()
