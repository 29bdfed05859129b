"""Where the machine's CPU went during a phase: each process of the stack, by role, and the rest.

Read from the kernel's per-process counters (psutil ``cpu_times``) at the start and at the end of
the phase, so the figures are CPU seconds actually used, not samples. A process that started during
the phase counts from zero; one that ended during it (a pgbench client's Postgres backend) counts
what it had used when the memory sampler last saw it, at most half a second before its end. The
machine's busy time (all cores, everything running) is read the same way; what the stack did not
use went to the load tool, the bench itself and anything else running.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from bench.memory import MemorySampler

OUTSIDE = "outside the stack (wrk, the bench, anything else)"
_GROUPS = (
    (re.compile(r"^um-api"), "user_manager API (granian)"),
    (re.compile(r"^um-queue"), "user_manager queue workers (Celery)"),
    (re.compile(r"^um-kafka"), "user_manager consume_kafka"),
    (re.compile(r"^um-relay"), "user_manager outbox relay"),
    (re.compile(r"^cm-api"), "credit_manager API (granian)"),
    (re.compile(r"^cm-queue"), "credit_manager queue workers (Celery)"),
    (re.compile(r"^cm-kafka"), "credit_manager consume_kafka"),
    (re.compile(r"^cm-relay"), "credit_manager outbox relay"),
    (re.compile(r"^postgres"), "Postgres"),
    (re.compile(r"^redis"), "Redis"),
    (re.compile(r"^kafka"), "Kafka broker (tansu)"),
    (re.compile(r"^devstack run"), "devstack run (and honcho's log relay, on a `make run` stack)"),
)


def group_of(label: str) -> str:
    return next((name for pattern, name in _GROUPS if pattern.search(label)), "other stack processes")


@contextmanager
def cpu_usage(memory: MemorySampler) -> Iterator[dict]:
    """Yield a dict that holds, once the block ends, CPU seconds by group and the machine's busy share."""
    usage: dict = {}
    start, machine_start, clock = _per_process(memory), _machine_busy(), time.monotonic()
    yield usage
    end, machine_end, elapsed = _per_process(memory), _machine_busy(), time.monotonic() - clock
    groups: dict[str, float] = {}
    for pid, (label, seconds) in end.items():
        used = seconds - start.get(pid, (label, 0.0))[1]
        groups[group_of(label)] = groups.get(group_of(label), 0.0) + max(used, 0.0)
    busy = machine_end - machine_start
    groups[OUTSIDE] = max(busy - sum(groups.values()), 0.0)
    usage.update(
        window_s=round(elapsed, 2),
        cores=psutil.cpu_count(),
        busy_s=round(busy, 2),
        busy_share=round(busy / (elapsed * (psutil.cpu_count() or 1)), 3) if elapsed else 0.0,
        groups={name: round(seconds, 2) for name, seconds in sorted(groups.items(), key=lambda item: -item[1])},
    )


def _per_process(memory: MemorySampler) -> dict[int, tuple[str, float]]:
    """Every process the sampler has seen, alive or ended, with the CPU time it had used."""
    memory.sample()
    return {pid: (tracked.label, tracked.cpu_seconds) for pid, tracked in memory.tracked.items()}


def _machine_busy() -> float:
    """CPU seconds the machine spent working, all cores (not idle, not waiting for disk, not stolen)."""
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
