"""How credit_manager reacts to customer events (registered by type; run once each by the queue worker).

Every ``user.*`` event carries the customer's state and version, so all five apply the same way:
the account follows the newest state (the inbox drops older ones as stale). An event that cannot
open a missing account (published before events carried the whole state) is parked until the
account exists, never dead-lettered for arriving early.
"""

from __future__ import annotations

from analysis.services import apply_customer_change
from common.errors import DomainError, ErrorCode
from common.events import CloudEvent, payload_of
from common.events.payloads import USER_BLOCKED, USER_CLOSED, USER_CREATED, USER_UNBLOCKED, USER_UPDATED, CustomerState
from common.inbox.services import Versioned
from common.messaging.registry import EventNotReady, event_handler

CUSTOMER_VERSION = Versioned("customer")


@event_handler(USER_CREATED, USER_UPDATED, USER_BLOCKED, USER_UNBLOCKED, USER_CLOSED, versioned=CUSTOMER_VERSION)
def on_customer_changed(event: CloudEvent) -> None:
    customer = payload_of(event)
    assert isinstance(customer, CustomerState)  # nosec B101 # narrows the type: payload_of gives the model of a user.* type
    try:
        apply_customer_change(
            user_id=customer.user_id,
            status=customer.status,
            birth_date=customer.birth_date,
            monthly_income=customer.monthly_income,
            reference=customer.reference,
        )
    except DomainError as exc:
        if exc.code != ErrorCode.ACCOUNT_NOT_FOUND:
            raise
        raise EventNotReady("the customer's account is not open yet") from exc
