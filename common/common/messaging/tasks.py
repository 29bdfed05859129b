"""The queue-worker side of consuming: apply events once, newest version wins, retrying and finally
dead-lettering; nothing is acknowledged as done while it is still owed."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from celery import shared_task
from django.conf import settings

from common.celery import DATABASE_UNAVAILABLE, backoff
from common.events import CloudEvent, InvalidEvent, parse_event
from common.inbox.services import Delivery, handle_batch, handle_once
from common.messaging import event_batch
from common.messaging.dead_letter import send_to_dead_letter
from common.messaging.registry import EventNotReady, handler_for, versioning_of
from common.messaging.stats import record_progress
from common.observability import log_context
from common.redaction import describe_error

logger = logging.getLogger(__name__)

Envelope = str | dict[str, Any]  # an event as a task argument: its JSON text, or the decoded object


class _StillOwed(Exception):
    """The event could not be applied, dead-lettered or handed on: retry it (and what follows it)."""


class _Failed(Exception):
    """What a retry carries of the failure (Celery writes it out): its description, never its text."""


def hand_off(envelopes: Sequence[CloudEvent | str]) -> None:
    """The consumer's dispatch: one task for a batch of events (one broker round trip, not one per event).

    Each envelope travels as its JSON text (as the consumer received it, or the event written out), in
    a body of its own (:mod:`common.messaging.event_batch`).
    """
    process_events.apply_async(args=[list(envelopes)], argsrepr=f"[{len(envelopes)} events]")


# max_retries=None: the limit is ours (EVENT_MAX_ATTEMPTS), and infrastructure failures retry without one.
@shared_task(
    bind=True,
    name="common.messaging.process_events",
    serializer=event_batch.SERIALIZER,
    acks_late=True,
    ignore_result=True,
    max_retries=None,
)
def process_events(self, envelopes: list[Envelope]) -> dict[str, int]:
    """Apply a batch in order: in one transaction when all of it applies, else each event on its own.

    In one transaction (:func:`handle_batch`), only the newest event of each aggregate runs its
    handler. If anything in it fails, it rolls back and each event is applied in a transaction of its
    own with its inbox row: an event that fails does not hold the others back, it goes on alone as
    ``process_event``, which retries it and finally dead-letters it; the versions keep a late one from
    undoing newer state. If the database, the dead-letter topic or the task broker is away, the batch
    is retried from the event that found it so (those before it are done; their inbox rows would
    skip them anyway).
    """
    envelopes, events, outcomes = _valid_only(self, envelopes)
    applied = _apply_together(events)
    if applied is None:
        for index, (envelope, event) in enumerate(zip(envelopes, events, strict=True)):
            with log_context(event_id=str(event.id), event_type=event.type):
                try:
                    outcome = _apply_in_batch(envelope, event)
                except _StillOwed as exc:
                    _report(outcomes)
                    logger.warning("%s; retrying the batch from this event", exc)
                    raise self.retry(args=[envelopes[index:]], exc=exc, countdown=backoff(self.request.retries + 1)) from exc
                logger.info("event %s", outcome)
            outcomes[outcome] += 1
    else:
        outcomes.update(applied)
    _report(outcomes)
    return dict(outcomes)


def _valid_only(task, envelopes: list[Envelope]) -> tuple[list[Envelope], list[CloudEvent], Counter[str]]:
    """The batch's valid events (and their envelopes); the invalid ones go to the dead-letter topic.

    The consumer routes on a header and hands the bytes on unread: this is where an envelope is
    checked. If the dead-letter topic does not take one, the batch is retried without those it took.
    """
    valid: list[tuple[Envelope, CloudEvent]] = []
    taken: set[int] = set()
    for index, envelope in enumerate(envelopes):
        try:
            valid.append((envelope, parse_event(envelope)))
        except InvalidEvent as exc:
            raw = envelope.encode() if isinstance(envelope, str) else json.dumps(envelope).encode()
            try:
                send_to_dead_letter(raw, key=None, reason=str(exc), origin="queue worker: invalid envelope")
            except Exception as dlq_error:  # noqa: BLE001 - the event stays owed until the dead-letter topic takes it
                logger.warning("dead-letter topic unavailable (%s); retrying the batch", dlq_error.__class__.__name__)
                rest = [e for i, e in enumerate(envelopes) if i not in taken]
                countdown = backoff(task.request.retries + 1)
                raise task.retry(args=[rest], exc=_Failed("dead-letter topic unavailable"), countdown=countdown) from dlq_error
            taken.add(index)
    outcomes = Counter({"dead_lettered": len(taken)}) if taken else Counter()
    return [envelope for envelope, _ in valid], [event for _, event in valid], outcomes


def _apply_together(events: list[CloudEvent]) -> Counter[str] | None:
    """Apply the batch in one transaction; None (nothing applied) if any of it failed.

    One log line for the batch: the inbox rows say what became of each event.
    """
    deliveries = [Delivery(event, handler, versioning_of(event.type)) for event in events if (handler := handler_for(event.type))]
    try:
        outcomes = Counter(handle_batch(deliveries) if deliveries else [])
    except Exception as exc:  # noqa: BLE001 - the events are applied one by one, where each fails on its own
        logger.info("batch of %s events not applied together (%s); applying them one by one", len(events), describe_error(exc))
        return None
    if skipped := len(events) - len(deliveries):
        outcomes["skipped"] = skipped
    logger.info("batch applied together: %s", ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())))
    return outcomes


@shared_task(bind=True, name="common.messaging.process_event", acks_late=True, ignore_result=True, max_retries=None)
def process_event(self, envelope: Envelope) -> str:
    """Apply one event through its registered handler, at most once in effect (inbox).

    Infrastructure failures (the database or the dead-letter topic away) and events that cannot
    apply yet (parked) are retried without limit; any other failure is retried until
    ``EVENT_MAX_ATTEMPTS`` attempts and then goes to the dead-letter topic.
    """
    event = parse_event(envelope)
    attempt = self.request.retries + 1
    with log_context(event_id=str(event.id), event_type=event.type):
        try:
            outcome = _apply(event)
        except DATABASE_UNAVAILABLE as exc:
            logger.warning("database unavailable, retrying (attempt %s)", attempt)
            raise self.retry(exc=exc, countdown=backoff(attempt)) from exc
        except EventNotReady as exc:
            logger.info("event parked, trying again later (attempt %s): %s", attempt, exc)
            raise self.retry(exc=exc, countdown=backoff(attempt)) from exc
        except InvalidEvent as exc:
            outcome = _dead_letter_or_retry(self, event, reason=str(exc), attempt=attempt)
        except Exception as exc:
            reason = describe_error(exc)
            if attempt < settings.EVENT_MAX_ATTEMPTS:
                logger.warning("event failed, retrying (attempt %s): %s", attempt, reason)
                raise self.retry(exc=_Failed(reason), countdown=backoff(attempt)) from exc
            outcome = _dead_letter_or_retry(self, event, reason=reason, attempt=attempt)
        logger.info("event %s", outcome)
        _report(Counter([outcome]))
        return outcome


def _apply(event: CloudEvent) -> str:
    handler = handler_for(event.type)
    if handler is None:
        return "skipped"
    return handle_once(event, handler, versioning_of(event.type))


def _apply_in_batch(envelope: Envelope, event: CloudEvent) -> str:
    """Apply one event of a batch; a failure of its own goes on alone, an outage raises :class:`_StillOwed`."""
    try:
        return _apply(event)
    except DATABASE_UNAVAILABLE as exc:
        raise _StillOwed(f"database unavailable: {exc.__class__.__name__}") from exc
    except EventNotReady as exc:
        return _go_on_alone(envelope, outcome="parked", reason=str(exc))
    except InvalidEvent as exc:
        return _dead_letter(event, reason=str(exc), attempt=1)
    except Exception as exc:
        if settings.EVENT_MAX_ATTEMPTS <= 1:
            return _dead_letter(event, reason=describe_error(exc), attempt=1)
        return _go_on_alone(envelope, outcome="retrying", reason=describe_error(exc))


def _go_on_alone(envelope: Envelope, *, outcome: str, reason: str) -> str:
    """Hand a failed event of a batch to ``process_event``, counting this as its first attempt."""
    logger.warning("event %s alone (attempt 1): %s", outcome, reason)
    try:
        process_event.apply_async(args=[envelope], retries=1, countdown=backoff(1))
    except Exception as exc:  # noqa: BLE001 - the task broker is away: the event stays in this batch
        raise _StillOwed(f"could not hand the event on: {exc!r}") from exc
    return outcome


def _dead_letter(event: CloudEvent, *, reason: str, attempt: int) -> str:
    """Send the event to the dead-letter topic; :class:`_StillOwed` if the topic does not take it."""
    try:
        send_to_dead_letter(event.to_bytes(), key=event.subject.encode(), reason=reason, origin=f"task attempt {attempt}")
    except Exception as exc:  # noqa: BLE001 - the event stays owed until the dead-letter topic takes it
        raise _StillOwed(f"dead-letter topic unavailable: {exc.__class__.__name__}") from exc
    logger.error("event dead-lettered after %s attempt(s)", attempt)
    return "dead_lettered"


def _dead_letter_or_retry(task, event: CloudEvent, *, reason: str, attempt: int) -> str:
    try:
        return _dead_letter(event, reason=reason, attempt=attempt)
    except _StillOwed as exc:
        logger.warning("%s; retrying (attempt %s)", exc, attempt)
        raise task.retry(exc=exc, countdown=backoff(attempt)) from exc


def _report(outcomes: Counter[str]) -> None:
    """Count stale events in the consumer's progress (health_check shows it); never fail a task for it."""
    if not outcomes.get("stale"):
        return
    try:
        record_progress(Counter(stale=outcomes["stale"]), heartbeat=False)
    except Exception as exc:  # noqa: BLE001 - progress is for health checks
        logger.warning("could not record stale events in the consumer's progress: %r", exc)
