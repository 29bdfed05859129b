"""How credit_manager reacts to customer events (registered by type; run once each by the queue worker)."""

from __future__ import annotations

from accounts import services
from common.events import CloudEvent, payload_of
from common.events.payloads import USER_CREATED, UserCreated
from common.messaging.registry import event_handler


@event_handler(USER_CREATED)
def on_user_created(event: CloudEvent) -> None:
    payload = payload_of(event)
    assert isinstance(payload, UserCreated)
    services.open_account(user_id=payload.user_id)
