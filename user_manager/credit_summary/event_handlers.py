"""How user_manager reacts to credit events (registered by type; run once each by the queue worker).

Every credit event carries the account's state and latest decision; the inbox orders them by their
publication sequence (one account's events are published in the order they happened), so the
handler just shows what the newest says.
"""

from __future__ import annotations

from common.errors import DomainError, ErrorCode
from common.events import CloudEvent, InvalidEvent, payload_of
from common.events.payloads import (
    CREDIT_ACCOUNT_CLOSED,
    CREDIT_ACCOUNT_FROZEN,
    CREDIT_ACCOUNT_OPENED,
    CREDIT_ACCOUNT_UNFROZEN,
    CREDIT_ANALYSIS_COMPLETED,
    CREDIT_AUTHORIZATION_EVENTS,
    CREDIT_LIMIT_CHANGED,
    CREDIT_TRANSACTION_POSTED,
    CreditAccountState,
)
from common.inbox.services import Versioned
from common.messaging.registry import event_handler
from common.outbox.services import publication_sequence
from credit_summary import services

ACCOUNT_SEQUENCE = Versioned("account", read=publication_sequence)


@event_handler(
    CREDIT_ACCOUNT_OPENED,
    CREDIT_ANALYSIS_COMPLETED,
    CREDIT_LIMIT_CHANGED,
    CREDIT_TRANSACTION_POSTED,
    CREDIT_ACCOUNT_FROZEN,
    CREDIT_ACCOUNT_UNFROZEN,
    CREDIT_ACCOUNT_CLOSED,
    *CREDIT_AUTHORIZATION_EVENTS,
    versioned=ACCOUNT_SEQUENCE,
)
def on_credit_account_changed(event: CloudEvent) -> None:
    """Every credit event carries the account as it now stands and its latest decision."""
    payload = payload_of(event)
    assert isinstance(payload, CreditAccountState)  # nosec B101 # narrows the type: payload_of gives the model of a credit.* type
    try:
        services.record_credit_state(state=payload, occurred_at=event.time)
    except DomainError as exc:  # never retried: no customer will appear under this id later
        if exc.code != ErrorCode.CUSTOMER_NOT_FOUND:
            raise
        raise InvalidEvent(f"{event.type} for an unknown customer") from exc
