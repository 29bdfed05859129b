"""Test data for the user_manager suites: valid customers and credit events as credit_manager sends them."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from common.events import CloudEvent, new_event
from common.events.payloads import (
    CREDIT_ACCOUNT_OPENED,
    CREDIT_ANALYSIS_COMPLETED,
    CREDIT_LIMIT_CHANGED,
    CREDIT_TRANSACTION_POSTED,
    PAYLOADS,
)
from common.inbox.services import handle_once
from common.messaging.registry import handler_for

VALID = {
    "full_name": "Ana Maria Silva",
    "email": "Ana.Silva@example.com",
    "tax_id": "529.982.247-25",
    "birth_date": "1990-05-01",
    "monthly_income": "5000.00",
    "phone": "+5511987654321",
}

_serial = itertools.count(100_000_000)


def fresh_cpf() -> str:
    """A valid CPF not used before in this run (test data: nine digits plus their two check digits)."""
    digits = [int(d) for d in str(next(_serial))]
    for weight_start in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weight_start, 1, -1), strict=True))
        digits.append(total * 10 % 11 % 10)
    return "".join(map(str, digits))


def customer_body(**overrides) -> dict:
    """A valid registration with an email and tax id of its own."""
    return {**VALID, "email": f"{uuid.uuid4().hex[:12]}@example.com", "tax_id": fresh_cpf(), **overrides}


T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def credit_event(
    user_id: str,
    *,
    version: int,
    event_type: str = CREDIT_ACCOUNT_OPENED,
    status: str = "pending",
    credit_limit: str = "0.00",
    balance: str = "0.00",
    minutes: int = 0,
    outcome: str = "approved",
    reason_codes: tuple[str, ...] = ("income_ok",),
) -> CloudEvent:
    """A credit event as credit_manager publishes it, ``minutes`` after T0, with the payload of its type."""
    state = {
        "account_id": uuid.UUID(int=1),
        "user_id": user_id,
        "status": status,
        "credit_limit": Decimal(credit_limit),
        "balance": Decimal(balance),
        "available": Decimal(credit_limit) - Decimal(balance),
        "version": version,
    }
    extra = {
        CREDIT_ANALYSIS_COMPLETED: {
            "decision_id": uuid.uuid4(), "outcome": outcome, "score": 700, "reason_codes": list(reason_codes), "policy_version": 1
        },
        CREDIT_LIMIT_CHANGED: {"previous_limit": Decimal("0.00")},
        CREDIT_TRANSACTION_POSTED: {"transaction_id": uuid.uuid4(), "transaction_type": "purchase", "amount": Decimal(balance)},
    }.get(event_type, {})
    event = new_event(event_type, subject=user_id, data=PAYLOADS[event_type](**state, **extra))
    return event.model_copy(update={"source": "credit_manager", "time": T0 + timedelta(minutes=minutes)})


def deliver(*events: CloudEvent) -> None:
    """Each event the way the queue worker applies it: once per event id, through its registered handler."""
    for event in events:
        handle_once(event, handler_for(event.type))
