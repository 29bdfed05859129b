"""The Celery app of a service, configured from its Django settings (``CELERY_*``), and the few rules
every task of the platform shares: how services queue work, and how a task outlives a database outage."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task, current_app
from celery.signals import task_postrun, worker_process_init
from django.db import DatabaseError, InterfaceError, OperationalError

from common.redaction import describe_error
from common.startup import freeze_startup_objects

# What a task sees while the database restarts or is unreachable: retried, never counted as a failure.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
MAX_BACKOFF_SECONDS = 60.0

# Options of a task that retries while the database is away, with the same backoff as ``backoff``.
RETRY_WHILE_DATABASE_UNAVAILABLE: dict[str, Any] = {
    "autoretry_for": DATABASE_UNAVAILABLE,
    "retry_backoff": True,
    "retry_backoff_max": int(MAX_BACKOFF_SECONDS),
    "max_retries": None,
}


class TaskFailed(Exception):
    """A task's database error as Celery gets it: described (``describe_error``), its frames kept."""


class DataFreeTask(Task):
    """Every task of the platform: a database error that ends it reaches Celery (its log line, its result,
    its signals) without its text, which holds the row's values; the traceback's frames stay."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except DatabaseError as exc:
            raise TaskFailed(describe_error(exc)).with_traceback(exc.__traceback__) from None


def create_celery_app(service: str) -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{service}.settings")
    app = Celery(service, task_cls=DataFreeTask)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    task_postrun.connect(_drop_unusable_connections, weak=False)
    worker_process_init.connect(_ready_to_work, weak=False)
    return app


def queue_task(name: str, *args: Any) -> None:
    """Queue this service's task registered under ``name``, with the options it declares.

    Services hand work to queue workers by the task's name: the task module imports the service it
    runs, never the other way round. A process that is not a worker (the API) has imported no tasks
    module yet; the first task it queues imports them, as a worker does when it starts.
    """
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    current_app.tasks[name].apply_async(args=list(args))


def backoff(attempt: int) -> float:
    """Seconds before retry ``attempt`` (1, 2, 4, ... at most ``MAX_BACKOFF_SECONDS``)."""
    return min(2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def _ready_to_work(**_) -> None:
    """A queue worker process, forked and set up: what it built so far lives as long as it does."""
    freeze_startup_objects()


def _drop_unusable_connections(task=None, **_) -> None:
    """Close connections that broke (a database restart) or outlived CONN_MAX_AGE, as a request would.

    ``CELERY_DB_REUSE_MAX`` keeps connections between tasks; this keeps that from reusing a dead one.
    A task run eagerly (``apply()``) runs in its caller's transaction, which is not ours to close.
    """
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()
