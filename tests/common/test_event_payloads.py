"""Events carry only what their consumers need: every type's fields are pinned here, so a field added to
an event is a decision this test is changed for, and customer events never carry contact or identity data."""

import types
import typing
import uuid
from datetime import date
from decimal import Decimal

import pytest
from pydantic import BaseModel

from common.events import new_event
from common.events.payloads import PAYLOADS, UserCreated, UserStatusChanged, UserUpdated

# The reference lets credit_manager's operators find and recognise the customer: a name, masked contact
# data and keyed digests (common.customer_lookup); never the whole tax id, email or phone.
REFERENCE = {
    "reference.name", "reference.tax_id_masked", "reference.email_masked", "reference.tax_id_digest", "reference.email_digest"
}  # fmt: skip
CUSTOMER_STATE = {"user_id", "version", "status", "birth_date", "monthly_income", *REFERENCE}
DECISION = {"last_decision.decision_id", "last_decision.outcome", "last_decision.reason_codes", "last_decision.decided_at"}
ACCOUNT_STATE = {
    "account_id", "user_id", "status", "credit_limit", "balance", "held", "available", "currency", "version", *DECISION
}  # fmt: skip
# A merchant is a business, not a person: its name and category say what a hold was for.
AUTHORIZATION = ACCOUNT_STATE | {
    "authorization_id", "authorization_status", "network_reference", "merchant.name", "merchant.mcc", "merchant.country",
    "amount", "authorized_amount", "held_amount", "captured_amount", "released_amount", "reason_code", "transaction_id",
    "over_limit",
}  # fmt: skip

FIELDS = {
    "user.created": CUSTOMER_STATE,
    "user.updated": CUSTOMER_STATE | {"changed_fields"},
    "user.blocked": CUSTOMER_STATE | {"reason"},
    "user.unblocked": CUSTOMER_STATE | {"reason"},
    "user.closed": CUSTOMER_STATE | {"reason"},
    "credit.account.opened": ACCOUNT_STATE,
    "credit.analysis.completed": ACCOUNT_STATE | {"decision_id", "outcome", "score", "reason_codes", "policy_version"},
    "credit.limit.changed": ACCOUNT_STATE | {"previous_limit"},
    "credit.transaction.posted": ACCOUNT_STATE | {"transaction_id", "transaction_type", "amount"},
    "credit.account.frozen": ACCOUNT_STATE,
    "credit.account.unfrozen": ACCOUNT_STATE,
    "credit.account.closed": ACCOUNT_STATE,
    "credit.authorization.approved": AUTHORIZATION,
    "credit.authorization.declined": AUTHORIZATION,
    "credit.authorization.incremented": AUTHORIZATION,
    "credit.authorization.captured": AUTHORIZATION,
    "credit.authorization.reversed": AUTHORIZATION,
    "credit.authorization.expired": AUTHORIZATION,
}

# Who the customer is and how to reach them stay in user_manager: credit analysis needs none of it.
IDENTITY_AND_CONTACT = ("name", "email", "mail", "tax", "cpf", "document", "phone", "address")


def field_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """The model's fields, nested payloads' as ``parent.child``."""
    paths = set()
    for name, info in model.model_fields.items():
        nested = [arg for arg in _types_in(info.annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)]
        paths |= field_paths(nested[0], f"{prefix}{name}.") if nested else {f"{prefix}{name}"}
    return paths


def _types_in(annotation: object) -> tuple:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def test_every_event_type_has_its_fields_pinned():
    assert set(PAYLOADS) == set(FIELDS)


@pytest.mark.parametrize("event_type", sorted(PAYLOADS))
def test_an_event_carries_exactly_its_pinned_fields(event_type):
    assert field_paths(PAYLOADS[event_type]) == FIELDS[event_type]


@pytest.mark.parametrize("event_type", sorted(t for t in PAYLOADS if t.startswith("user.")))
def test_customer_events_carry_no_identity_or_contact_data_but_the_reference(event_type):
    carried = [path for path in field_paths(PAYLOADS[event_type]) if any(word in path for word in IDENTITY_AND_CONTACT)]
    assert set(carried) == REFERENCE


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        ("user.created", UserCreated),
        ("user.updated", UserUpdated),
        ("user.blocked", UserStatusChanged),
    ],
)
def test_what_a_customer_event_is_given_beyond_its_fields_never_travels(event_type, payload):
    """A producer handing a payload the whole customer still sends only the pinned fields."""
    customer = {
        "user_id": uuid.uuid4(), "version": 1, "status": "blocked", "birth_date": date(1990, 5, 1),
        "monthly_income": Decimal("5000.00"), "full_name": "Ana Maria Silva", "email": "ana@example.com",
        "tax_id": "52998224725", "phone": "+5511987654321",
    }  # fmt: skip
    event = new_event(event_type, subject=customer["user_id"], data=payload(**customer))
    data = event.to_json()["data"]
    assert set(data) == {path.split(".")[0] for path in FIELDS[event_type]}
    assert not {"ana@example.com", "52998224725", "+5511987654321"} & set(map(str, data.values()))
