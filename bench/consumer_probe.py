"""The consumer scenario's measuring process, run in credit_manager's environment:
``python -m bench.consumer_probe --topic T --events N --run R`` prints one JSON line.

It pre-produces ``N`` valid ``user.created`` events (unique ids) into a fresh topic, then reads them
from the earliest offset with new consumer groups, in a few alternating rounds (``--rounds``) of:

- raw: a kafka-python consumer made by ``create_consumer`` (the service's own settings), committing
  after each poll and doing nothing else with the messages;
- consume_kafka: the real :class:`EventConsumer`, wired exactly as ``manage.py consume_kafka`` wires
  it, handing every event to Celery through the real Redis broker.

The Celery broker and the cache point at Redis databases of their own (the harness sets
``CELERY_BROKER_URL`` and ``CACHE_URL``), so no queue worker runs the tasks; they and the events they
carry are counted and purged after each round, and the topic is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import django

STALL_SECONDS = 60.0
# Reads of raw and consume_kafka side by side; the median round counts. Three were too few where a read
# takes under half a second: on 2026-12-05 one run's rounds were 88%, 59% and 68% of the raw rate.
ROUNDS = 5


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consumer_probe")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="raw and consume_kafka reads, alternating; the median round counts")
    parser.add_argument("--profile-out", type=Path, help="profile consume_kafka's loop with py-spy (no raw run)")
    arguments = parser.parse_args(argv)
    django.setup()

    from common.messaging.kafka import ensure_topics

    ensure_topics([arguments.topic])
    try:
        report = {"events": arguments.events, "produce_s": round(produce(arguments.topic, arguments.events), 2)}
        if arguments.profile_out is not None:
            report["consume_kafka"] = read_with_event_consumer(
                arguments.topic, arguments.events, group=f"bench-consume-{arguments.run}", profile_out=arguments.profile_out
            )
            report["queued_tasks"], report["queued_events"] = purge_handed_off()
        else:
            report.update(compare(arguments.topic, arguments.events, run=arguments.run, rounds=arguments.rounds))
    finally:
        delete_topic(arguments.topic)
    print(json.dumps(report))
    return 0


def produce(topic: str, count: int) -> float:
    """Write ``count`` ``user.created`` events keyed by user id, as user_manager's relay would; returns seconds."""
    from kafka import KafkaProducer

    from common.events import CloudEvent, routing_headers
    from common.events.payloads import USER_CREATED, UserCreated
    from common.messaging.kafka import client_config

    producer = KafkaProducer(**client_config(), acks="all", linger_ms=20, batch_size=256 * 1024)
    started = time.monotonic()
    for _ in range(count):
        user_id = uuid.uuid4()
        payload = UserCreated(user_id=user_id, birth_date=date(1985, 6, 15), monthly_income=Decimal("8000.00"), status="active")
        event = CloudEvent(source="user_manager", type=USER_CREATED, subject=str(user_id), data=payload.model_dump(mode="json"))
        producer.send(topic, key=str(user_id).encode(), value=event.to_bytes(), headers=routing_headers(event.type, event.id))
    producer.flush(timeout=120)
    producer.close()
    return time.monotonic() - started


def compare(topic: str, count: int, *, run: str, rounds: int) -> dict:
    """Read the topic raw, then with ``consume_kafka``, ``rounds`` times over (a group of their own each).

    A read takes a second or less, where a neighbour's burst on a shared machine moves one by 20%: each
    round's ratio compares readings taken side by side (which goes first alternates), and the round
    whose ratio is the median is the one reported (the others are listed).
    """
    measured = []
    tasks = events = 0
    for index in range(rounds):
        if index % 2 == 0:
            raw = read_raw(topic, count, group=f"bench-raw-{run}-{index}")
        dispatched = read_with_event_consumer(topic, count, group=f"bench-consume-{run}-{index}", profile_out=None)
        if index % 2 == 1:
            raw = read_raw(topic, count, group=f"bench-raw-{run}-{index}")
        round_tasks, round_events = purge_handed_off()
        tasks, events = tasks + round_tasks, events + round_events
        ratio = dispatched["per_second"] / raw["per_second"] if raw["per_second"] else 0.0
        measured.append({"raw": raw, "consume_kafka": dispatched, "ratio": ratio})
    median = sorted(measured, key=lambda r: r["ratio"])[len(measured) // 2]
    return {
        "raw": median["raw"],
        "consume_kafka": median["consume_kafka"],
        "rounds": [round(r["ratio"], 3) for r in measured],
        "queued_tasks": tasks,
        "queued_events": events,
    }


def read_raw(topic: str, count: int, *, group: str) -> dict:
    """The floor: poll, count, commit; nothing is decoded."""
    from common.messaging.kafka import create_consumer

    consumer = create_consumer(topics=[topic], group_id=group)

    def poll() -> int:
        batches = consumer.poll(timeout_ms=1000)
        received = sum(len(messages) for messages in batches.values())
        if received:
            consumer.commit()
        return received

    try:
        return timed(poll, count)
    finally:
        consumer.close(autocommit=False)


def read_with_event_consumer(topic: str, count: int, *, group: str, profile_out: Path | None) -> dict:
    """``consume_kafka``'s loop, built as its command builds it (see common/messaging/management/commands)."""
    from django.conf import settings

    from bench.tools import start_profile, stop_profile
    from common.messaging.consumer import EventConsumer
    from common.messaging.dead_letter import send_to_dead_letter
    from common.messaging.kafka import create_consumer
    from common.messaging.stats import record_progress
    from common.messaging.tasks import hand_off

    consumer = EventConsumer(
        consumer=create_consumer(topics=[topic], group_id=group),
        dispatch=hand_off,
        batch_size=settings.EVENT_BATCH_SIZE,
        dead_letter=send_to_dead_letter,
        record_progress=record_progress,
    )
    outcomes: dict[str, int] = {}

    def poll() -> int:
        counts = consumer.poll_once()
        for outcome, n in counts.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
        return sum(counts.values())

    recorder = start_profile(os.getpid(), profile_out, subprocesses=False) if profile_out else None
    try:
        report = timed(poll, count)
    finally:
        if recorder is not None:
            stop_profile(recorder)
        consumer.consumer.close(autocommit=False)
    report["outcomes"] = outcomes
    return report


def timed(poll: Callable[[], int], count: int) -> dict:
    """Messages per second from the end of the first poll that returned any to the end of the last one.

    The first poll waits for the group to form (seconds on some brokers): it is left out, with its messages.
    """
    received = 0
    first_at = first_batch = None
    last_progress = time.monotonic()
    while received < count:
        got = poll()
        now = time.monotonic()
        if got:
            received += got
            last_progress = now
            if first_at is None:
                first_at, first_batch = now, got
        elif now - last_progress > STALL_SECONDS:
            break
    elapsed = (time.monotonic() - first_at) if first_at is not None else 0.0
    measured = received - (first_batch or 0)
    return {
        "received": received,
        "measured_messages": measured,
        "measured_s": round(elapsed, 3),
        "per_second": round(measured / elapsed, 1) if elapsed else 0.0,
    }


def purge_handed_off() -> tuple[int, int]:
    """Count the tasks handed to Celery and the events they carry, then purge them: no worker is meant to run them."""
    from common.testing import TaskQueue
    from credit_manager.celery import app

    queued = TaskQueue().messages()
    app.control.purge()
    return len(queued), sum(len(message["args"][0]) for message in queued)


def delete_topic(topic: str) -> None:
    from kafka import KafkaAdminClient

    from common.messaging.kafka import client_config

    admin = KafkaAdminClient(**client_config())
    try:
        admin.delete_topics([topic])
    except Exception as exc:  # noqa: BLE001 - a broker without topic deletion keeps it; harmless
        print(f"bench: could not delete topic {topic}: {exc!r}", file=sys.stderr)
    finally:
        admin.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
