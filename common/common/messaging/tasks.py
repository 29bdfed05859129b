"""The queue-worker side of consuming: apply events once, retrying and finally dead-lettering."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from common.events import CloudEvent, InvalidEvent, parse_event
from common.inbox.services import handle_once
from common.messaging.dead_letter import send_to_dead_letter
from common.messaging.registry import handler_for
from common.observability import log_context

logger = logging.getLogger(__name__)

_DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

Envelope = str | dict[str, Any]  # an event as a task argument: its JSON text, or the decoded object


def hand_off(events: list[CloudEvent]) -> None:
    """The consumer's dispatch: one task for a batch of events (one broker round trip, not one per event).

    Each envelope travels as its JSON text: cheaper to write and to carry than nested objects.
    """
    process_events.apply_async(args=[[event.model_dump_json() for event in events]], argsrepr=f"[{len(events)} events]")


# max_retries=None: the limit is ours (EVENT_MAX_ATTEMPTS), and infrastructure failures retry without one.
@shared_task(bind=True, name="common.messaging.process_events", acks_late=True, ignore_result=True, max_retries=None)
def process_events(self, envelopes: list[Envelope]) -> dict[str, int]:
    """Apply a batch in order, each event in its own transaction with its inbox row.

    An event that fails does not hold the others back: it goes on alone as ``process_event``, which
    retries it and finally dead-letters it. If the database is away, the batch is retried from the
    event that found it so (those before it are done; their inbox rows would skip them anyway).
    """
    outcomes: Counter[str] = Counter()
    for index, envelope in enumerate(envelopes):
        event = parse_event(envelope)
        with log_context(event_id=str(event.id), event_type=event.type):
            try:
                outcome = _apply(event)
            except _DATABASE_UNAVAILABLE as exc:
                logger.warning("database unavailable, retrying the batch from this event")
                raise self.retry(args=[envelopes[index:]], exc=exc, countdown=_backoff(self.request.retries + 1)) from exc
            except InvalidEvent as exc:
                outcome = _dead_letter(event, reason=str(exc), attempt=1)
            except Exception as exc:
                outcome = _retry_alone(envelope, event, exc)
            logger.info("event %s", outcome)
        outcomes[outcome] += 1
    return dict(outcomes)


@shared_task(bind=True, name="common.messaging.process_event", acks_late=True, ignore_result=True, max_retries=None)
def process_event(self, envelope: Envelope) -> str:
    """Apply one event through its registered handler, at most once in effect (inbox).

    Infrastructure failures (the database away) are retried without limit; any other failure is
    retried until ``EVENT_MAX_ATTEMPTS`` attempts and then goes to the dead-letter topic.
    """
    event = parse_event(envelope)
    attempt = self.request.retries + 1
    with log_context(event_id=str(event.id), event_type=event.type):
        try:
            outcome = _apply(event)
        except _DATABASE_UNAVAILABLE as exc:
            logger.warning("database unavailable, retrying (attempt %s)", attempt)
            raise self.retry(exc=exc, countdown=_backoff(attempt)) from exc
        except InvalidEvent as exc:
            return _dead_letter(event, reason=str(exc), attempt=attempt)
        except Exception as exc:
            if attempt >= settings.EVENT_MAX_ATTEMPTS:
                return _dead_letter(event, reason=repr(exc), attempt=attempt)
            logger.warning("event failed, retrying (attempt %s): %r", attempt, exc)
            raise self.retry(exc=exc, countdown=_backoff(attempt)) from exc
        logger.info("event %s", outcome)
        return outcome


def _apply(event: CloudEvent) -> str:
    handler = handler_for(event.type)
    if handler is None:
        return "skipped"
    return "handled" if handle_once(event, handler) else "duplicate"


def _retry_alone(envelope: Envelope, event: CloudEvent, exc: Exception) -> str:
    """Hand a failed event of a batch to ``process_event``, counting this as its first attempt."""
    if settings.EVENT_MAX_ATTEMPTS <= 1:
        return _dead_letter(event, reason=repr(exc), attempt=1)
    logger.warning("event failed, retrying it alone (attempt 1): %r", exc)
    process_event.apply_async(args=[envelope], retries=1, countdown=_backoff(1))
    return "retrying"


def _backoff(attempt: int) -> float:
    return min(2.0 ** (attempt - 1), 60.0)


def _dead_letter(event: CloudEvent, *, reason: str, attempt: int) -> str:
    send_to_dead_letter(event.to_bytes(), key=event.subject.encode(), reason=reason, origin=f"task attempt {attempt}")
    logger.error("event dead-lettered after %s attempt(s)", attempt)
    return "dead_lettered"
