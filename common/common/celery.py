"""The Celery app of a service, configured from its Django settings (``CELERY_*``)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun


def create_celery_app(service: str) -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{service}.settings")
    app = Celery(service)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    app.autodiscover_tasks(["common.outbox", "common.inbox", "common.messaging"])
    task_postrun.connect(_drop_unusable_connections, weak=False)
    return app


def _drop_unusable_connections(task=None, **_) -> None:
    """Close connections that broke (a database restart) or outlived CONN_MAX_AGE, as a request would.

    ``CELERY_DB_REUSE_MAX`` keeps connections between tasks; this keeps that from reusing a dead one.
    A task run eagerly (``apply()``) runs in its caller's transaction, which is not ours to close.
    """
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()
