"""How user_manager reacts to credit events (registered by type; run once each by the queue worker)."""

from __future__ import annotations

from common.errors import NotFound
from common.events import CloudEvent, InvalidEvent, payload_of
from common.events.payloads import (
    CREDIT_ACCOUNT_CLOSED,
    CREDIT_ACCOUNT_FROZEN,
    CREDIT_ACCOUNT_OPENED,
    CREDIT_ACCOUNT_UNFROZEN,
    CREDIT_ANALYSIS_COMPLETED,
    CREDIT_LIMIT_CHANGED,
    CREDIT_TRANSACTION_POSTED,
    CreditAccountState,
)
from common.messaging.registry import event_handler
from credit_summary import services


@event_handler(CREDIT_ACCOUNT_OPENED)
@event_handler(CREDIT_ANALYSIS_COMPLETED)
@event_handler(CREDIT_LIMIT_CHANGED)
@event_handler(CREDIT_TRANSACTION_POSTED)
@event_handler(CREDIT_ACCOUNT_FROZEN)
@event_handler(CREDIT_ACCOUNT_UNFROZEN)
@event_handler(CREDIT_ACCOUNT_CLOSED)
def on_credit_account_changed(event: CloudEvent) -> None:
    """Every credit event carries the account as it now stands (and an analysis, its decision)."""
    payload = payload_of(event)
    assert isinstance(payload, CreditAccountState)
    try:
        services.record_credit_state(state=payload, occurred_at=event.time)
    except NotFound as exc:  # never retried: no customer will appear under this id later
        raise InvalidEvent(f"{event.type} for an unknown customer") from exc
