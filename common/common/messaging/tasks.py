"""The queue-worker side of consuming: apply one event once, retrying and finally dead-lettering."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from common.events import InvalidEvent, parse_event
from common.inbox.services import handle_once
from common.messaging.dead_letter import send_to_dead_letter
from common.messaging.registry import handler_for
from common.observability import log_context

logger = logging.getLogger(__name__)


# max_retries=None: the limit is ours (EVENT_MAX_ATTEMPTS), and infrastructure failures retry without one.
@shared_task(bind=True, name="common.messaging.process_event", acks_late=True, ignore_result=True, max_retries=None)
def process_event(self, envelope: dict[str, Any]) -> str:
    """Apply an event through its registered handler, at most once in effect (inbox).

    Infrastructure failures (the database away) are retried without limit; any other failure is
    retried ``EVENT_MAX_ATTEMPTS`` times and then goes to the dead-letter topic.
    """
    event = parse_event(envelope)
    attempt = self.request.retries + 1
    with log_context(event_id=str(event.id), event_type=event.type):
        handler = handler_for(event.type)
        if handler is None:
            logger.info("event type not handled here, skipped")
            return "skipped"
        try:
            ran = handle_once(event, handler)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("database unavailable, retrying (attempt %s)", attempt)
            raise self.retry(exc=exc, countdown=_backoff(attempt)) from exc
        except InvalidEvent as exc:
            return _dead_letter(event, reason=str(exc), attempt=attempt)
        except Exception as exc:
            if attempt >= settings.EVENT_MAX_ATTEMPTS:
                return _dead_letter(event, reason=repr(exc), attempt=attempt)
            logger.warning("event failed, retrying (attempt %s): %r", attempt, exc)
            raise self.retry(exc=exc, countdown=_backoff(attempt)) from exc
        outcome = "handled" if ran else "duplicate"
        logger.info("event %s", outcome)
        return outcome


def _backoff(attempt: int) -> float:
    return min(2.0 ** (attempt - 1), 60.0)


def _dead_letter(event, *, reason: str, attempt: int) -> str:
    send_to_dead_letter(event.to_bytes(), key=event.subject.encode(), reason=reason, origin=f"task attempt {attempt}")
    logger.error("event dead-lettered after %s attempt(s)", attempt)
    return "dead_lettered"
