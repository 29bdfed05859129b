"""The Kafka consumer: decode, validate, dispatch, commit after hand-off; bad messages to the DLQ."""

import json
import threading
import uuid

import pytest
from django.test import override_settings
from kafka import KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from common.events import routing_headers
from common.messaging.consumer import EventConsumer
from common.messaging.dead_letter import send_to_dead_letter
from common.messaging.kafka import client_config, create_consumer, discard_producer, ensure_topics
from common.messaging.stats import read_progress, record_progress
from common.testing import Broker, read_topic, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def produce(topic, *values, headers=None):
    """Write ``values`` in order; one key, so they share a partition and keep their order there."""
    producer = KafkaProducer(**client_config(), acks="all")
    for value in values:
        producer.send(topic, key=b"k", value=value, headers=headers)
    producer.flush()
    producer.close()


def ids(envelopes) -> list[uuid.UUID]:
    """The ids of dispatched envelopes (the JSON texts the consumer hands on)."""
    return [uuid.UUID(json.loads(envelope)["id"]) for envelope in envelopes]


def event_consumer(kafka_consumer, dispatch, **options) -> EventConsumer:
    """The consumer as ``consume_kafka`` wires it, with the dispatch (and any option) the test needs."""
    options = {"dead_letter": send_to_dead_letter, "record_progress": record_progress, **options}
    return EventConsumer(consumer=kafka_consumer, dispatch=dispatch, **options)


def consume_until(consumer: EventConsumer, total: int, polls: int = 30) -> dict:
    seen: dict = {}
    for _ in range(polls):
        for outcome, n in consumer.poll_once().items():
            seen[outcome] = seen.get(outcome, 0) + n
        if sum(seen.values()) >= total:
            break
    return seen


def committed_offset(kafka_consumer, topic):
    return sum(kafka_consumer.committed(TopicPartition(topic, p)) or 0 for p in kafka_consumer.partitions_for_topic(topic))


@pytest.fixture
def group():
    return f"test-group-{uuid.uuid4().hex[:8]}"


class TestConsumer:
    def test_hands_off_valid_events_dead_letters_bad_envelopes_skips_unknown_and_commits(
        self, kafka_topic, dead_letter_topic, group, handled, make_user_created
    ):
        handled("user.created", lambda event: None)
        good = make_user_created()
        unknown = json.loads(make_user_created().to_bytes()) | {"type": "user.teleported"}
        no_source = json.loads(make_user_created().to_bytes())
        del no_source["source"]
        produce(kafka_topic, b"\x00garbage\xff", good.to_bytes(), json.dumps(unknown).encode(), json.dumps(no_source).encode())

        dispatched = []
        kafka_consumer = create_consumer(topics=[kafka_topic], group_id=group)
        consumer = event_consumer(kafka_consumer, dispatched.extend, progress_interval_seconds=0)
        outcomes = consume_until(consumer, 4)

        assert outcomes == {"handled": 1, "skipped": 1, "dead_lettered": 2}
        assert ids(dispatched) == [good.id]
        assert committed_offset(kafka_consumer, kafka_topic) == 4
        dead = read_topic(dead_letter_topic, expect=2)
        assert dead[0].value == b"\x00garbage\xff"
        headers = dict(dead[0].headers)
        assert headers["dlq_origin"].startswith(kafka_topic.encode()) and headers["dlq_reason"]
        assert b"source" in dict(dead[1].headers)["dlq_reason"]
        progress = read_progress()
        assert progress["dead_lettered"] >= 2 and "heartbeat" in progress
        kafka_consumer.close()

    def test_an_event_with_its_type_header_is_routed_by_it_and_handed_on_as_it_came(
        self, kafka_topic, dead_letter_topic, group, handled, make_user_created
    ):
        """As the outbox relay sends them: the consumer reads no body; the queue worker checks it."""
        handled("user.created", lambda event: None)
        good, unreadable = make_user_created(), b'{"id": "not checked here"}'
        produce(kafka_topic, good.to_bytes(), unreadable, headers=routing_headers("user.created", good.id))
        produce(kafka_topic, good.to_bytes(), headers=routing_headers("user.teleported", good.id))
        dispatched = []
        consumer = event_consumer(create_consumer(topics=[kafka_topic], group_id=group), dispatched.extend)
        assert consume_until(consumer, 3) == {"handled": 2, "skipped": 1}
        assert dispatched == [good.to_bytes().decode(), unreadable.decode()]
        consumer.consumer.close()

    def test_a_failed_hand_off_is_retried_and_nothing_after_it_is_committed(
        self, kafka_topic, dead_letter_topic, group, handled, make_user_created
    ):
        handled("user.created", lambda event: None)
        events = [make_user_created() for _ in range(3)]
        produce(kafka_topic, *(e.to_bytes() for e in events))
        dispatched, failures = [], [1]

        def flaky_broker(batch):
            if len(dispatched) == 1 and failures:
                failures.pop()
                raise ConnectionError("task broker unavailable")
            dispatched.extend(batch)

        kafka_consumer = create_consumer(topics=[kafka_topic], group_id=group)
        consumer = event_consumer(kafka_consumer, flaky_broker, batch_size=1, retry_backoff_seconds=0)
        first = consume_until(consumer, 1)
        assert first == {"handled": 1}
        assert committed_offset(kafka_consumer, kafka_topic) == 1
        consume_until(consumer, 2)
        assert ids(dispatched) == [e.id for e in events]
        assert committed_offset(kafka_consumer, kafka_topic) == 3
        kafka_consumer.close()

    def test_progress_is_recorded_at_most_once_an_interval_and_nothing_is_lost_in_between(
        self, kafka_topic, group, handled, make_user_created
    ):
        handled("user.created", lambda event: None)
        produce(kafka_topic, *(make_user_created().to_bytes() for _ in range(3)))
        recorded = []
        consumer = event_consumer(
            create_consumer(topics=[kafka_topic], group_id=group),
            lambda batch: None,
            record_progress=lambda counts: recorded.append(dict(counts)),
            progress_interval_seconds=3600,
        )
        consume_until(consumer, 3)
        assert len(recorded) == 1, "only the first poll records within the interval"
        consumer._next_progress_record = 0  # the interval has passed
        consumer.poll_once()
        assert sum(r.get("handled", 0) for r in recorded) == 3
        consumer.consumer.close()

    def test_events_are_handed_off_in_batches_in_offset_order(
        self, kafka_topic, dead_letter_topic, group, handled, make_user_created
    ):
        handled("user.created", lambda event: None)
        events = [make_user_created() for _ in range(7)]
        produce(kafka_topic, *(e.to_bytes() for e in events), b"not an event")
        batches = []
        kafka_consumer = create_consumer(topics=[kafka_topic], group_id=group)
        consumer = event_consumer(kafka_consumer, batches.append, batch_size=3)
        assert consume_until(consumer, 8) == {"handled": 7, "dead_lettered": 1}
        assert [len(b) for b in batches] == [3, 3, 1]
        assert [i for b in batches for i in ids(b)] == [e.id for e in events]
        assert committed_offset(kafka_consumer, kafka_topic) == 8
        kafka_consumer.close()

    def test_a_failed_batch_is_handed_off_again_whole_and_the_batches_before_it_stay_committed(
        self, kafka_topic, dead_letter_topic, group, handled, make_user_created
    ):
        handled("user.created", lambda event: None)
        events = [make_user_created() for _ in range(4)]
        produce(kafka_topic, *(e.to_bytes() for e in events))
        batches, failures = [], [1]

        def flaky_broker(batch):
            if batches and failures:
                failures.pop()
                raise ConnectionError("task broker unavailable")
            batches.append(ids(batch))

        kafka_consumer = create_consumer(topics=[kafka_topic], group_id=group)
        consumer = event_consumer(kafka_consumer, flaky_broker, batch_size=2, retry_backoff_seconds=0)
        assert consume_until(consumer, 2) == {"handled": 2}
        assert committed_offset(kafka_consumer, kafka_topic) == 2
        consume_until(consumer, 2)
        assert batches == [[e.id for e in events[:2]], [e.id for e in events[2:]]]
        assert committed_offset(kafka_consumer, kafka_topic) == 4
        kafka_consumer.close()

    def test_a_new_group_starts_from_the_earliest_message(
        self, kafka_topic, dead_letter_topic, group, handled, make_user_created
    ):
        """kafka-python defaults to 'latest', which would silently skip what was written before the group existed."""
        handled("user.created", lambda event: None)
        produce(kafka_topic, make_user_created().to_bytes())
        dispatched = []
        kafka_consumer = create_consumer(topics=[kafka_topic], group_id=group)
        consumer = event_consumer(kafka_consumer, dispatched.extend)
        assert consume_until(consumer, 1) == {"handled": 1}
        assert kafka_consumer.config["enable_auto_commit"] is False
        kafka_consumer.close()


@pytest.fixture
def own_broker(tmp_path):
    """A tansu broker of this test's own, in force for the test, with users.events on one partition."""
    broker = Broker(tmp_path)
    broker.start()
    try:
        with override_settings(KAFKA_BOOTSTRAP_SERVERS=[broker.address], KAFKA_TOPIC_PARTITIONS=1):
            ensure_topics(["users.events"])
            discard_producer()
            yield broker
            discard_producer()
    finally:
        broker.kill()


class TestBrokerDataLoss:
    def test_after_the_broker_lost_its_data_new_messages_are_still_read(self, own_broker, handled, make_user_created):
        """A memory-only broker restarts with offsets from zero; the consumer must not wait at its old position."""
        handled("user.created", lambda event: None)
        # Three messages: after the restart the new one sits at offset 0 again, below our position (3).
        produce("users.events", *(make_user_created().to_bytes() for _ in range(3)))
        dispatched = []
        kafka_consumer = create_consumer(topics=["users.events"], group_id="data-loss")
        consumer = event_consumer(kafka_consumer, dispatched.extend, lost_position_check_seconds=0)
        consume_until(consumer, 3)
        assert len(dispatched) == 3

        own_broker.kill()
        own_broker.start()
        ensure_topics(["users.events"])
        after_restart = make_user_created()
        produce("users.events", after_restart.to_bytes())
        wait_until(
            lambda: consumer.poll_once() is not None and after_restart.to_bytes().decode() in dispatched,
            timeout=60,
            what="the new message",
        )
        kafka_consumer.close()

    def test_a_consumer_that_has_not_joined_its_group_when_the_broker_goes_away_waits_for_it(
        self, own_broker, handled, make_user_created
    ):
        """kafka-python raises from its coordinator lookup then; the process must not end (nobody restarts it)."""
        handled("user.created", lambda event: None)
        dispatched = []
        kafka_consumer = create_consumer(topics=["users.events"], group_id="not-joined-yet")
        consumer = event_consumer(kafka_consumer, dispatched.extend, retry_backoff_seconds=0.1)
        own_broker.kill()
        # kafka-python's poll() may also block (past its timeout) until the broker is back: bring it back
        # while the consumer polls, so either way each poll ends, with nothing, and without raising.
        comeback = threading.Timer(3, own_broker.start)
        comeback.start()
        for _ in range(3):
            assert consumer.poll_once() == {}
        comeback.join()
        ensure_topics(["users.events"])
        event = make_user_created()
        produce("users.events", event.to_bytes())
        wait_until(
            lambda: consumer.poll_once() is not None and event.to_bytes().decode() in dispatched, timeout=60, what="the message"
        )
        kafka_consumer.close()


class PolledPartitions:
    """What the consumer needs of kafka-python's, for one poll that brings several partitions' messages."""

    config = {"max_poll_records": 500}

    def __init__(self, batches: dict) -> None:
        self.batches = batches
        self.seeks: dict = {}
        self.commits: list[dict] = []

    def poll(self, timeout_ms):
        batches, self.batches = self.batches, {}
        return batches

    def seek(self, partition, offset):
        self.seeks[partition] = offset

    def commit(self, offsets):
        self.commits.append({partition: meta.offset for partition, meta in offsets.items()})


def on_partition(partition: int, *events) -> tuple[TopicPartition, list[ConsumerRecord]]:
    """``events`` as one poll brings them from the partition (offsets from 0), routed by their header."""
    topic_partition = TopicPartition("users.events", partition)
    records = [
        ConsumerRecord(
            "users.events", partition, -1, offset, 0, 0, b"k", event.to_bytes(), [("ce_type", event.type.encode())], None, 1, 1, 1
        )
        for offset, event in enumerate(events)
    ]
    return topic_partition, records


class TestOnePollOneTask:
    def test_a_polls_events_of_every_partition_go_in_one_task_each_partitions_in_offset_order(self, handled, make_user_created):
        handled("user.created", lambda event: None)
        first, second = [make_user_created() for _ in range(3)], [make_user_created() for _ in range(2)]
        kafka = PolledPartitions(dict([on_partition(0, *first), on_partition(1, *second)]))
        tasks = []
        assert event_consumer(kafka, tasks.append).poll_once() == {"handled": 5}
        assert [ids(task) for task in tasks] == [[e.id for e in first + second]]
        assert kafka.commits == [{TopicPartition("users.events", 0): 3, TopicPartition("users.events", 1): 2}]

    def test_when_a_hand_off_fails_every_partition_is_read_again_from_its_first_event_not_handed_off(
        self, handled, make_user_created
    ):
        handled("user.created", lambda event: None)
        first, second, third = (
            [make_user_created() for _ in range(3)],
            [make_user_created() for _ in range(2)],
            [make_user_created()],
        )
        kafka = PolledPartitions(dict([on_partition(0, *first), on_partition(1, *second), on_partition(2, *third)]))
        tasks = []

        def second_task_refused(batch):
            if tasks:
                raise ConnectionError("task broker unavailable")
            tasks.append(batch)

        consumer = event_consumer(kafka, second_task_refused, batch_size=2, retry_backoff_seconds=0)
        assert consumer.poll_once() == {"handled": 2}
        assert [ids(task) for task in tasks] == [[e.id for e in first[:2]]]
        assert kafka.commits == [{TopicPartition("users.events", 0): 2}]
        assert kafka.seeks == {TopicPartition("users.events", p): offset for p, offset in [(0, 2), (1, 0), (2, 0)]}
