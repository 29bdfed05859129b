"""How credit_manager reacts to customer events (registered by type; run once each by the queue worker).

An event about a customer whose account does not exist yet (it overtook ``user.created``) fails
with an ordinary error, so it is retried until the account is there (or dead-lettered).
"""

from __future__ import annotations

from accounts import services
from analysis.services import onboard_customer, reanalyse_after_income_change
from common.events import CloudEvent, payload_of
from common.events.payloads import (
    USER_BLOCKED,
    USER_CLOSED,
    USER_CREATED,
    USER_UNBLOCKED,
    USER_UPDATED,
    UserCreated,
    UserStatusChanged,
    UserUpdated,
)
from common.messaging.registry import event_handler


@event_handler(USER_CREATED)
def on_user_created(event: CloudEvent) -> None:
    payload = payload_of(event)
    assert isinstance(payload, UserCreated)
    onboard_customer(user_id=payload.user_id, birth_date=payload.birth_date, monthly_income=payload.monthly_income)


@event_handler(USER_UPDATED)
def on_user_updated(event: CloudEvent) -> None:
    payload = payload_of(event)
    assert isinstance(payload, UserUpdated)
    if payload.monthly_income is not None:  # only a new income matters to the analysis
        reanalyse_after_income_change(user_id=payload.user_id, monthly_income=payload.monthly_income)


@event_handler(USER_BLOCKED)
def on_user_blocked(event: CloudEvent) -> None:
    services.freeze_account(user_id=_status_change(event).user_id)


@event_handler(USER_UNBLOCKED)
def on_user_unblocked(event: CloudEvent) -> None:
    services.unfreeze_account(user_id=_status_change(event).user_id)


@event_handler(USER_CLOSED)
def on_user_closed(event: CloudEvent) -> None:
    services.close_account(user_id=_status_change(event).user_id)


def _status_change(event: CloudEvent) -> UserStatusChanged:
    payload = payload_of(event)
    assert isinstance(payload, UserStatusChanged)
    return payload
