"""Test data for the user_manager suites: valid customers and credit events as credit_manager sends them."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fuzz_rules import cpf

from common.events import CloudEvent, new_event
from common.events.payloads import (
    CREDIT_ACCOUNT_OPENED,
    CREDIT_ANALYSIS_COMPLETED,
    CREDIT_AUTHORIZATION_EVENTS,
    CREDIT_LIMIT_CHANGED,
    CREDIT_TRANSACTION_POSTED,
    PAYLOADS,
    DecisionSummary,
)
from common.inbox.services import handle_once
from common.messaging.registry import handler_for, versioning_of
from common.outbox.services import SEQUENCE_ATTRIBUTE

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
    """A valid CPF not used before in this run."""
    return cpf(next(_serial))


def customer_body(**overrides) -> dict:
    """A valid registration with an email and tax id of its own."""
    return {**VALID, "email": f"{uuid.uuid4().hex[:12]}@example.com", "tax_id": fresh_cpf(), **overrides}


T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def decision(outcome: str = "approved", reason_codes: tuple[str, ...] = ("income_ok",), *, minutes: int = 0) -> DecisionSummary:
    """A decision credit_manager took ``minutes`` after T0."""
    return DecisionSummary(
        decision_id=uuid.uuid4(), outcome=outcome, reason_codes=list(reason_codes), decided_at=T0 + timedelta(minutes=minutes)
    )


def credit_event(
    user_id: str,
    *,
    version: int,
    sequence: int | None = None,
    event_type: str = CREDIT_ACCOUNT_OPENED,
    status: str = "pending",
    credit_limit: str = "0.00",
    balance: str = "0.00",
    held: str = "0.00",
    minutes: int = 0,
    last_decision: DecisionSummary | None = None,
) -> CloudEvent:
    """A credit event as credit_manager's relay sends it, ``minutes`` after T0: the account's state, its latest
    decision (an analysis announces its own) and the publication ``sequence`` (default: the version)."""
    state = {
        "account_id": uuid.UUID(int=1),
        "user_id": user_id,
        "status": status,
        "credit_limit": Decimal(credit_limit),
        "balance": Decimal(balance),
        "held": Decimal(held),
        "available": Decimal(credit_limit) - Decimal(balance) - Decimal(held),
        "version": version,
        "last_decision": last_decision,
    }
    extra = {
        CREDIT_LIMIT_CHANGED: {"previous_limit": Decimal("0.00")},
        CREDIT_TRANSACTION_POSTED: {"transaction_id": uuid.uuid4(), "transaction_type": "purchase", "amount": Decimal(balance)},
    }.get(event_type, {})
    if event_type in CREDIT_AUTHORIZATION_EVENTS:
        extra = {
            "authorization_id": uuid.UUID(int=2), "authorization_status": "pending", "network_reference": "net-1",
            "merchant": {"name": "Mercado Azul", "mcc": "5411"}, "amount": Decimal(held), "authorized_amount": Decimal(held),
            "held_amount": Decimal(held), "captured_amount": Decimal(0), "released_amount": Decimal(0),
        }  # fmt: skip
    if event_type == CREDIT_ANALYSIS_COMPLETED:
        own = state["last_decision"] = last_decision or decision(minutes=minutes)
        extra = {
            "decision_id": own.decision_id, "outcome": own.outcome, "score": 700, "reason_codes": own.reason_codes,
            "policy_version": 1,
        }  # fmt: skip
    event = new_event(event_type, subject=user_id, data=PAYLOADS[event_type](**state, **extra))
    return event.model_copy(
        update={"source": "credit_manager", "time": T0 + timedelta(minutes=minutes), SEQUENCE_ATTRIBUTE: sequence or version}
    )


def deliver(*events: CloudEvent) -> None:
    """Each event the way the queue worker applies it: once per event id, newest wins, through its handler."""
    for event in events:
        handle_once(event, handler_for(event.type), versioning_of(event.type))
