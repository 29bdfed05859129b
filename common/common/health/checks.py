"""What each process of a service depends on, and how to tell whether it is there."""

from __future__ import annotations

import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone
from kafka import KafkaAdminClient

from common.messaging.kafka import client_config
from common.messaging.stats import read_progress
from common.outbox.models import OutboxEvent

Check = Callable[[], str]


def database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def cache_backend() -> str:
    cache.set("health:probe", "1", 10)
    if cache.get("health:probe") != "1":
        raise RuntimeError("cache did not return what was written")
    return "ok"


def task_broker() -> str:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)
    return "ok"


def kafka() -> str:
    admin = KafkaAdminClient(**{**client_config(), "request_timeout_ms": 3000, "bootstrap_timeout_ms": 3000})
    try:
        admin.list_topics()
    finally:
        admin.close()
    return "ok"


def queue_worker() -> str:
    replies = current_app.control.ping(timeout=2.0)
    if not replies:
        raise RuntimeError("no Celery worker answered a ping")
    return f"ok ({len(replies)} worker(s))"


def consumer_progress() -> str:
    progress = read_progress()
    if "heartbeat" not in progress:
        raise RuntimeError("the consumer has not polled yet")
    age = time.time() - progress["heartbeat"]
    if age > settings.CONSUMER_HEARTBEAT_MAX_AGE_SECONDS:
        raise RuntimeError(f"the consumer last polled {age:.0f}s ago")
    counts = ", ".join(f"{outcome}={int(n)}" for outcome, n in sorted(progress.items()) if outcome != "heartbeat")
    return f"ok (polled {age:.0f}s ago; {counts})"


def outbox_backlog() -> str:
    pending = OutboxEvent.objects.filter(sent_at__isnull=True).aggregate(count=Count("id"), oldest=Min("created_at"))
    if pending["oldest"] is None:
        return "ok (nothing pending)"
    age = (timezone.now() - pending["oldest"]).total_seconds()
    if age > settings.OUTBOX_PENDING_MAX_AGE_SECONDS:
        raise RuntimeError(f"{pending['count']} event(s) pending, the oldest for {age:.0f}s")
    return f"ok ({pending['count']} pending, the oldest for {age:.0f}s)"


CHECKS_BY_SERVICE: dict[str, dict[str, Check]] = {
    "api": {"database": database, "cache": cache_backend, "task_broker": task_broker},
    "kafka-worker": {"kafka": kafka, "task_broker": task_broker, "cache": cache_backend, "consumer": consumer_progress},
    "queue-worker": {
        "database": database,
        "cache": cache_backend,
        "task_broker": task_broker,
        "kafka": kafka,
        "worker": queue_worker,
    },
    "relay": {"database": database, "kafka": kafka, "outbox": outbox_backlog},
    # Beat only queues the periodic tasks.
    "beat": {"task_broker": task_broker},
}
