"""The Celery app of a service, configured from its Django settings (``CELERY_*``)."""

from __future__ import annotations

import os

from celery import Celery


def create_celery_app(service: str) -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{service}.settings")
    app = Celery(service)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    app.autodiscover_tasks(["common.outbox", "common.inbox", "common.messaging"])
    return app
