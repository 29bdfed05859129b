"""Kafka clients are configured the one way that loses nothing, and topics get their partitions."""

import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from common.messaging.kafka import create_consumer, discard_producer, ensure_topics, get_producer

pytestmark = pytest.mark.integration


def test_the_producer_waits_for_all_replicas_and_is_idempotent():
    discard_producer()
    try:
        config = get_producer().config
        assert config["acks"] in (-1, "all") and config["enable_idempotence"] is True
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
