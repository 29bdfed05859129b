"""The long-running processes of a service and the command line (argv) of each.

One declaration for every place that starts them: the local stack (``stack.processes``), the
end-to-end tests (``tests/e2e/stack.py``) and docker-compose.yaml, which cannot import this and is
checked against it by ``tests/deploy/test_compose.py``. Each command runs in the service's folder
with the virtualenv's ``bin`` first on ``PATH``. Knobs that differ between those places are arguments.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["api", "kafka-worker", "queue-worker", "relay", "beat"]
ROLES: tuple[Role, ...] = ("api", "kafka-worker", "queue-worker", "relay", "beat")

DEFAULT_WEB_WORKERS = 2
DEFAULT_CELERY_CONCURRENCY = 2


def api(service: str, *, bind: str, workers: int | str = DEFAULT_WEB_WORKERS, access_log: bool = False) -> list[str]:
    """The REST API: granian serving the service's WSGI application at ``bind`` (``host:port``).

    Each worker process runs one request at a time on one Python thread (``--blocking-threads 1``: one
    database connection per worker, no thread hand-offs), while granian's own thread reads and writes
    the connections, kept alive between requests, and parses HTTP outside Python.
    """
    host, _, port = bind.rpartition(":")
    argv = ["granian", "--interface", "wsgi", "--host", host, "--port", port, "--workers", str(workers)]
    argv += ["--blocking-threads", "1", "--respawn-failed-workers"]
    if access_log:
        argv += ["--access-log"]
    return [*argv, f"{service}.wsgi:application"]


def kafka_worker() -> list[str]:
    """The consumer of the service's topics."""
    return ["python", "manage.py", "consume_kafka"]


def relay() -> list[str]:
    """The outbox relay: sends each change's events to Kafka as soon as it commits (one is enough;
    a second waits as a standby, since only one relays at a time)."""
    return ["python", "manage.py", "relay_outbox"]


def queue_worker(
    service: str,
    *,
    concurrency: int | str = DEFAULT_CELERY_CONCURRENCY,
    node_name: str | None = None,
    beat_schedule: str | None = None,
) -> list[str]:
    """A Celery worker. ``node_name`` tells several on one host apart; ``beat_schedule`` runs beat inside
    this worker (the local stack and the tests, where one worker is enough; deployments run ``beat``)."""
    argv = ["celery", "-A", service, "worker", "--loglevel", "INFO", "--concurrency", str(concurrency)]
    if node_name:
        argv += ["--hostname", node_name]
    if beat_schedule:
        argv += ["--beat", "--schedule", beat_schedule]
    return argv


def beat(service: str, *, schedule: str) -> list[str]:
    """The periodic sweeps and purges: exactly one per service."""
    return ["celery", "-A", service, "beat", "--loglevel", "INFO", "--schedule", schedule]
