"""Events shared by both services: the envelope, the payloads and the topics."""

from __future__ import annotations

from django.conf import settings
from pydantic import ValidationError

from common.events.envelope import CloudEvent, InvalidEvent, describe_errors, parse_event, routing_headers
from common.events.payloads import PAYLOADS, Payload

USERS_TOPIC = "users.events"
CREDIT_TOPIC = "credit.events"

__all__ = ["CloudEvent", "InvalidEvent", "Payload", "parse_event", "routing_headers", "new_event", "payload_of", "USERS_TOPIC", "CREDIT_TOPIC"]


def new_event(event_type: str, *, subject: object, data: Payload) -> CloudEvent:
    """An event of this service about ``subject``; ``data`` must be the payload model of ``event_type``."""
    expected = PAYLOADS[event_type]
    if not isinstance(data, expected):
        raise TypeError(f"{event_type} carries {expected.__name__}, not {type(data).__name__}")
    return CloudEvent(source=settings.SERVICE_NAME, type=event_type, subject=str(subject), data=data.model_dump(mode="json"))


def payload_of(event: CloudEvent) -> Payload:
    """The typed payload of a known event type; :class:`InvalidEvent` if the data does not fit."""
    model = PAYLOADS.get(event.type)
    if model is None:
        raise InvalidEvent(f"unknown event type {event.type!r}")
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        raise InvalidEvent(f"{event.type} data: {describe_errors(exc)}") from exc
