"""What the consumer has been doing, kept in Redis so ``health_check`` (another process) can report it."""

from __future__ import annotations

import time
from collections import Counter

from django.conf import settings
from django_redis import get_redis_connection


def _key() -> str:
    return f"{settings.SERVICE_NAME}:consumer:{settings.KAFKA_CONSUMER_GROUP}"


def record_progress(counts: Counter[str], *, heartbeat: bool = True) -> None:
    """Add these counts and (for the consumer) beat the heartbeat, in one round trip."""
    pipe = get_redis_connection("default").pipeline()
    for outcome, n in counts.items():
        if n:
            pipe.hincrby(_key(), outcome, n)
    if heartbeat:
        pipe.hset(_key(), "heartbeat", f"{time.time():.3f}")
    pipe.execute()


def read_progress() -> dict[str, float]:
    """The last ``heartbeat`` (a Unix time) and a count per outcome recorded so far (handled, skipped and
    dead_lettered by the consumer; stale by the queue workers)."""
    raw = get_redis_connection("default").hgetall(_key())
    return {k.decode(): float(v) for k, v in raw.items()}
