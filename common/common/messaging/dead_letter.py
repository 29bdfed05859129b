"""The dead-letter topic: messages this consumer group cannot handle, with the reason, kept for operators."""

from __future__ import annotations

import json
import logging

from django.conf import settings

from common.messaging.kafka import Message, discard_producer, get_producer
from common.messaging.models import DeadLetter

logger = logging.getLogger(__name__)


class DeadLetterNotSent(Exception):
    """Kafka did not acknowledge the dead letter: the caller keeps the message."""


def send_to_dead_letter(value: bytes, *, key: bytes | None, reason: str, origin: str) -> None:
    """Write ``value`` unchanged to the dead-letter topic and wait for the broker's acknowledgement.

    ``origin`` says where it came from (``topic/partition@offset`` or ``task``); raises if Kafka
    does not acknowledge, so the caller keeps the message instead of losing it.
    """
    headers = [
        ("dlq_reason", reason[:1000].encode()),
        ("dlq_origin", origin.encode()),
        ("dlq_group", settings.KAFKA_CONSUMER_GROUP.encode()),
    ]
    message = Message(settings.KAFKA_DEAD_LETTER_TOPIC, key=key, value=value, headers=headers)
    try:
        sent, error = get_producer().send_all([message], timeout=settings.KAFKA_REQUEST_TIMEOUT_MS / 1000)
        if not sent:
            raise DeadLetterNotSent(error)
    except Exception:
        discard_producer()
        raise
    logger.warning("message dead-lettered", extra={"origin": origin, "reason": reason[:200]})
    _show_in_the_console(value, reason=reason, origin=origin)


def _show_in_the_console(value: bytes, *, reason: str, origin: str) -> None:
    """Record the dead letter for the back office; the topic holds it whatever happens here."""
    try:
        envelope = json.loads(value)
        envelope = envelope if isinstance(envelope, dict) else {}
    except ValueError:
        envelope = {}
    try:
        DeadLetter.objects.create(
            event_id=str(envelope.get("id", ""))[:100], event_type=str(envelope.get("type", ""))[:100],
            subject=str(envelope.get("subject", ""))[:100], reason=reason, origin=origin[:200],
            payload=value.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),  # Postgres text holds no NUL
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the console misses it; the topic and replay_dead_letters still have it
        logger.warning("dead letter not shown in the back office: %s", exc.__class__.__name__)
