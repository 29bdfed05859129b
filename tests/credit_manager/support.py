"""Helpers of the credit_manager suites: customers arriving as real events, accounts in a known state."""

import uuid
from datetime import date
from decimal import Decimal

from accounts.models import CreditAccount
from common.cpf import mask_cpf, normalize_cpf
from common.customer_lookup import email_digest, mask_email, tax_id_digest
from common.events import CloudEvent, new_event
from common.events.payloads import (
    USER_BLOCKED,
    USER_CLOSED,
    USER_CREATED,
    USER_UNBLOCKED,
    USER_UPDATED,
    CustomerReference,
    UserCreated,
    UserStatusChanged,
    UserUpdated,
)
from common.messaging.tasks import process_event
from common.outbox.models import OutboxEvent
from ledger.services import post_transaction


def years_ago(years: int, *, days: int = 0) -> date:
    today = date.today()
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        anniversary = today.replace(year=today.year - years, day=28)
    return date.fromordinal(anniversary.toordinal() - days)


def user_created(
    user_id: uuid.UUID | None = None, *, age: int = 40, income: str = "8000.00", reference: CustomerReference | None = None
) -> CloudEvent:
    return CustomerHistory(user_id, age=age, income=income, reference=reference).created()


def customer_reference(name: str, *, tax_id: str, email: str) -> CustomerReference:
    """What user_manager's events say of a customer for credit_manager's back office."""
    digits = normalize_cpf(tax_id)
    return CustomerReference(
        name=name, tax_id_masked=mask_cpf(digits), email_masked=mask_email(email), tax_id_digest=tax_id_digest(tax_id),
        email_digest=email_digest(email),
    )  # fmt: skip


class CustomerHistory:
    """One customer's events as user_manager publishes them: each the next version, with the whole state."""

    def __init__(
        self, user_id: uuid.UUID | None = None, *, age: int = 40, income: str = "8000.00", reference: CustomerReference | None = None
    ) -> None:
        self.user_id = user_id or uuid.uuid4()
        self.reference = reference
        self.birth_date = years_ago(age)
        self.income = Decimal(income)
        self.status = "active"
        self.version = 0

    def created(self) -> CloudEvent:
        return self._next(USER_CREATED, UserCreated)

    def blocked(self) -> CloudEvent:
        return self._next(USER_BLOCKED, UserStatusChanged, status="blocked")

    def unblocked(self) -> CloudEvent:
        return self._next(USER_UNBLOCKED, UserStatusChanged, status="active")

    def closed(self) -> CloudEvent:
        return self._next(USER_CLOSED, UserStatusChanged, status="closed")

    def income_changed(self, income: str) -> CloudEvent:
        return self._next(USER_UPDATED, UserUpdated, income=Decimal(income), changed_fields=["monthly_income"])

    def _next(self, event_type: str, payload, *, status: str | None = None, income: Decimal | None = None, **extra):
        self.version += 1
        self.status = status or self.status
        self.income = self.income if income is None else income
        data = payload(
            user_id=self.user_id, version=self.version, status=self.status, birth_date=self.birth_date,
            monthly_income=self.income, reference=self.reference, **extra,
        )  # fmt: skip
        return new_event(event_type, subject=self.user_id, data=data)


def onboard(**kwargs) -> CreditAccount:
    """A customer created in user_manager, as credit_manager receives it: through the event task."""
    event = user_created(**kwargs)
    assert process_event.apply(args=[event.to_json()]).get() == "handled"
    return CreditAccount.objects.get(user_id=event.data["user_id"])


def spend(account: CreditAccount, amount: str) -> None:
    post_transaction(account_id=account.id, type="purchase", amount=Decimal(amount))


def events_of(account: CreditAccount, event_type: str | None = None) -> list[dict]:
    """The credit events published about the account's customer, oldest first."""
    rows = OutboxEvent.objects.filter(subject=str(account.user_id)).order_by("id")
    if event_type:
        rows = rows.filter(event_type=event_type)
    return [row.envelope for row in rows]


def post(client, account: CreditAccount, body: dict, *, key: str | None = None):
    """POST /accounts/{id}/transactions with a fresh Idempotency-Key unless one is given."""
    return client.post(
        f"/api/v1/accounts/{account.id}/transactions",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def purchase(amount: str, **fields) -> dict:
    return {"type": "purchase", "amount": amount, **fields}


def request_authorization(
    client, account: CreditAccount, amount: str, *, mcc: str = "5411", reference: str | None = None, key: str | None = None
):
    """POST /accounts/{id}/authorizations as a card network sends it (a fresh reference and key unless given)."""
    body = {
        "amount": amount,
        "merchant": {"name": "Mercado Azul", "mcc": mcc, "country": "BR"},
        "network_reference": reference or uuid.uuid4().hex,
    }
    return client.post(
        f"/api/v1/accounts/{account.id}/authorizations",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def change_authorization(client, authorization_id, step: str, body: dict | None = None, *, key: str | None = None):
    """POST /authorizations/{id}/{increments|captures|reversals}."""
    return client.post(
        f"/api/v1/authorizations/{authorization_id}/{step}",
        body or {},
        content_type="application/json",
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )
