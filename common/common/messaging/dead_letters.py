"""What an operator does with a dead letter in the back office: replay it (hand it back to the queue
workers, as ``manage.py replay_dead_letters`` does, through the same ``hand_off``) or discard it, with
who and when recorded. Replaying is harmless to repeat: handlers run once per event (inbox) and an
older version never undoes newer state."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from common.errors import DomainError, ErrorCode
from common.events import InvalidEvent, parse_event
from common.messaging.models import DeadLetter, DeadLetterStatus
from common.messaging.registry import handler_for
from common.messaging.tasks import hand_off


def replay(*, dead_letter_id: int, by) -> DeadLetter:
    """Hand the dead-lettered event back to the queue workers, once its cause is fixed."""
    with transaction.atomic():
        dead_letter = _open(dead_letter_id)
        try:
            event = parse_event(dead_letter.payload.encode())
        except InvalidEvent as exc:
            raise DomainError(ErrorCode.DEAD_LETTER_NOT_REPLAYABLE, "The message is not an event: discard it.") from exc
        if handler_for(event.type) is None:
            raise DomainError(ErrorCode.DEAD_LETTER_NOT_REPLAYABLE, f"No handler here for {event.type}: discard it.")
        _resolve(dead_letter, DeadLetterStatus.REPLAYED, by, "")
        hand_off([event])  # inside the transaction: if the task broker is away, the dead letter stays open
    return dead_letter


def discard(*, dead_letter_id: int, by, note: str) -> DeadLetter:
    """Set the dead letter aside for good, saying why."""
    if not note.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, "Discarding needs a reason.")
    with transaction.atomic():
        dead_letter = _open(dead_letter_id)
        _resolve(dead_letter, DeadLetterStatus.DISCARDED, by, note)
    return dead_letter


def _open(dead_letter_id: int) -> DeadLetter:
    dead_letter = DeadLetter.objects.select_for_update().filter(id=dead_letter_id).first()
    if dead_letter is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such dead letter.")
    if dead_letter.status != DeadLetterStatus.OPEN:
        raise DomainError(ErrorCode.DEAD_LETTER_RESOLVED, f"It was {dead_letter.status} already.")
    return dead_letter


def _resolve(dead_letter: DeadLetter, status: DeadLetterStatus, by, note: str) -> None:
    dead_letter.status, dead_letter.resolved_by, dead_letter.resolved_at = status, by, timezone.now()
    dead_letter.resolution_note = note.strip()[:500]
    dead_letter.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
