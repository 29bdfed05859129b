"""The dead-letter topic: messages this consumer group cannot handle, with the reason, kept for operators."""

from __future__ import annotations

import logging

from django.conf import settings

from common.messaging.kafka import discard_producer, get_producer

logger = logging.getLogger(__name__)


def send_to_dead_letter(value: bytes, *, key: bytes | None, reason: str, origin: str) -> None:
    """Write ``value`` unchanged to the dead-letter topic and wait for the broker's acknowledgement.

    ``origin`` says where it came from (``topic/partition@offset`` or ``task``); raises if Kafka
    does not acknowledge, so the caller keeps the message instead of losing it.
    """
    headers = [("dlq_reason", reason[:1000].encode()), ("dlq_origin", origin.encode()), ("dlq_group", settings.KAFKA_CONSUMER_GROUP.encode())]
    try:
        get_producer().send(settings.KAFKA_DEAD_LETTER_TOPIC, key=key, value=value, headers=headers).get(
            timeout=settings.KAFKA_REQUEST_TIMEOUT_MS / 1000
        )
    except Exception:
        discard_producer()
        raise
    logger.warning("message dead-lettered", extra={"origin": origin, "reason": reason[:200]})
