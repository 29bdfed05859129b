"""The CloudEvents 1.0 envelope every message on our topics carries (JSON structured mode)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError


class InvalidEvent(ValueError):
    """The bytes are not a valid event envelope, or its data does not match its type."""


class CloudEvent(BaseModel):
    """An event as it travels: what happened (``type``) to which aggregate (``subject``), and when."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    time: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The envelope as JSON-ready primitives (decimals as strings, times in RFC 3339)."""
        return self.model_dump(mode="json")

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()


def routing_headers(event_type: str, event_id: object) -> list[tuple[str, bytes]]:
    """The Kafka headers of CloudEvents' binary mode that consumers route on without reading the body."""
    return [("ce_type", event_type.encode()), ("ce_id", str(event_id).encode())]


def parse_event(raw: bytes | str | dict[str, Any]) -> CloudEvent:
    """Decode and validate an envelope; raise :class:`InvalidEvent` with the reason otherwise."""
    try:
        if isinstance(raw, dict):
            return CloudEvent.model_validate(raw)
        return CloudEvent.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidEvent(describe_errors(exc)) from exc


def describe_errors(exc: ValidationError) -> str:
    """A short, data-free description of what is wrong (input values may hold personal data)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors()[:5])
