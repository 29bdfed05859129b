"""``manage.py health_check``: one JSON line; exit 0 only when what the process needs is there."""

import json
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def health_check(service: str, **env_overrides: str) -> tuple[int, dict]:
    url = urlsplit(os.environ["DATABASE_URL"])
    env = {**os.environ, "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))}
    env.update(env_overrides)
    result = subprocess.run(
        [sys.executable, "manage.py", "health_check", "--service", service],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    return result.returncode, json.loads(lines[0])


def test_api_is_healthy_when_database_cache_and_task_broker_answer():
    code, report = health_check("api")
    assert code == 0
    assert report["healthy"] is True and set(report["checks"]) == {"database", "cache", "task_broker"}


def test_api_is_unhealthy_when_the_database_is_down():
    code, report = health_check("api", DATABASE_URL="postgres://postgres@127.0.0.1:9/nowhere")
    assert code == 1
    assert report["healthy"] is False and report["checks"]["database"].startswith("error")
    assert report["checks"]["cache"] == "ok"


def test_kafka_worker_is_unhealthy_when_kafka_is_down():
    code, report = health_check("kafka-worker", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")
    assert code == 1 and report["checks"]["kafka"].startswith("error")


def test_queue_worker_is_unhealthy_when_no_worker_answers():
    """This suite runs no worker on its task broker, so the ping finds none."""
    code, report = health_check("queue-worker")
    assert code == 1 and report["checks"]["worker"].startswith("error")
    assert report["checks"]["database"] == "ok" and report["checks"]["kafka"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_relay_is_unhealthy_once_an_event_waited_in_the_outbox_too_long():
    from datetime import timedelta

    from django.utils import timezone

    from common.outbox.models import OutboxEvent

    waiting = OutboxEvent.objects.create(event_id=uuid.uuid4(), event_type="t", topic="t", key="k", subject="s", envelope={})
    code, report = health_check("relay")
    assert code == 0 and report["checks"]["outbox"].startswith("ok (1 pending")
    waited = timezone.now() - timedelta(seconds=settings.OUTBOX_PENDING_MAX_AGE_SECONDS + 5)
    OutboxEvent.objects.filter(id=waiting.id).update(created_at=waited)
    code, report = health_check("relay")
    assert code == 1 and report["checks"]["outbox"].startswith("error: RuntimeError: 1 event(s) pending")
    assert report["checks"]["database"] == "ok" and report["checks"]["kafka"] == "ok"
