"""Queue-worker side of limit requests: thin tasks over ``analysis.services``; both safe to run twice."""

from __future__ import annotations

import uuid

from celery import shared_task

from analysis import services
from common.celery import RETRY_WHILE_DATABASE_UNAVAILABLE


@shared_task(name=services.DECIDE_LIMIT_REQUEST_TASK, acks_late=True, ignore_result=True, **RETRY_WHILE_DATABASE_UNAVAILABLE)
def decide_limit_request_task(request_id: str) -> str:
    """Decide one limit request; a redelivered task finds it decided and does nothing."""
    return services.decide_limit_request(request_id=uuid.UUID(request_id)).status


@shared_task(name="analysis.requeue_pending_limit_requests", ignore_result=True)
def requeue_pending_limit_requests() -> int:
    return services.requeue_pending_limit_requests()
