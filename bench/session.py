"""One benchmark run: the stack, the parameters, where scratch files go, and waiting for the stack to be idle."""

from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from kafka import KafkaConsumer, TopicPartition

from bench.config import Parameters
from bench.memory import MemorySampler
from bench.stack import Stack
from common.devstack.processes import DEFAULT_WEB_WORKERS
from common.events import CREDIT_TOPIC, USERS_TOPIC

# The topics each service's consume_kafka reads (its consumer group is named after the service).
CONSUMED = {"user_manager": CREDIT_TOPIC, "credit_manager": USERS_TOPIC}


@dataclass
class Bench:
    stack: Stack
    parameters: Parameters
    run_id: str
    """Tags the run's data (emails, idempotency keys, consumer groups)."""
    stamp: str
    """Names the run's files in results/ (UTC start time)."""
    work_dir: Path
    memory: MemorySampler
    notes: list[str] = field(default_factory=list)
    baselines: dict[str, Any] = field(default_factory=dict)
    """Baselines measured by one scenario for others of the same run, e.g. ``"pgbench spread"`` (write's)."""
    _cpf_bases: set[int] = field(default_factory=set)

    @property
    def api_workers(self) -> int:
        """Workers of each API (one request at a time each), as devstack starts them (``WEB_CONCURRENCY``)."""
        return int(os.environ.get("WEB_CONCURRENCY") or DEFAULT_WEB_WORKERS)

    def load_shape(self, rate: float | None = None) -> tuple[int, int]:
        """wrk's connections and threads: the bench's concurrency when it sends as fast as the answers come;
        at a steady ``rate``, as many connections as an API has workers (one thread each, up to THREADS).

        A connection waits for its slot (``lua/pace.lua``) open and idle; one per worker, each serving one
        request at a time, is what the API can answer at once, and the achieved rate shows any shortfall.
        """
        if rate is None:
            return self.parameters.concurrency, self.parameters.threads
        connections = self.api_workers
        return connections, min(self.parameters.threads, connections)

    def cpf_base(self) -> int:
        """Where a new batch of customers' CPFs starts: a different million for each batch of the run, so no
        two batches collide (a batch has fewer than a million customers)."""
        while True:
            base = random.randrange(100, 800) * 1_000_000  # nosec B311 # test data, not a secret
            if base not in self._cpf_bases:
                self._cpf_bases.add(base)
                return base

    def wait_until_quiet(self, what: str, *, timeout: float = 120.0) -> float:
        """Wait until no event is in flight (outboxes sent, Kafka read, Celery queues empty); returns the wait.

        Each scenario starts on an idle stack, so the work left by the previous one does not slow it down.
        """
        started = time.monotonic()
        calm_checks = 0
        while calm_checks < 2:  # twice in a row: an event can be between two of the places looked at
            busy = self.busy()
            calm_checks = 0 if busy else calm_checks + 1
            if busy and time.monotonic() - started > timeout:
                self.notes.append(f"before {what}: the stack was still busy after {timeout:.0f}s ({', '.join(busy)})")
                print(f"bench: {self.notes[-1]}", file=sys.stderr)
                break
            time.sleep(0.5)
        return time.monotonic() - started

    def busy(self) -> list[str]:
        """What is still in flight, e.g. ``["credit_manager: 12 queued tasks"]``; empty when idle."""
        found = []
        for handle in self.stack.services.values():
            broker = redis.Redis.from_url(handle.variables["CELERY_BROKER_URL"])
            try:
                queued, unacked = broker.llen("celery"), broker.hlen("unacked")
            finally:
                broker.close()
            pending = handle.query("SELECT count(*) FROM outbox_outboxevent WHERE sent_at IS NULL")[0][0]
            lag = self.kafka_lag(group=handle.name, topic=CONSUMED[handle.name])
            for count, thing in ((queued + unacked, "tasks queued"), (pending, "outbox rows pending"), (lag, "events unread")):
                if count:
                    found.append(f"{handle.name}: {count} {thing}")
        return found

    def kafka_lag(self, *, group: str, topic: str) -> int:
        """Events of ``topic`` the service's consumer group has not committed yet (it never joins the group)."""
        reader = KafkaConsumer(bootstrap_servers=self.stack.kafka, group_id=group, enable_auto_commit=False, request_timeout_ms=5000)
        try:
            partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
            ends = reader.end_offsets(partitions) if partitions else {}
            return sum(max(end - (reader.committed(tp) or 0), 0) for tp, end in ends.items())
        finally:
            reader.close(autocommit=False)
