"""Payloads of every event type, versioned by ``type`` (a breaking change gets a ``.v2`` type).

Events carry only what consumers need: credit analysis needs birth date and income; credit_manager's
operators need to find and recognise the customer (the name, the tax id and email masked, and keyed
digests to search by, ``common.customer_lookup``). The whole tax id, email and phone never leave
user_manager.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
CustomerStatus = Literal["active", "blocked", "closed"]


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class CustomerReference(Payload):
    """How credit_manager's back office finds and recognises the customer, and no more."""

    name: str
    tax_id_masked: str
    email_masked: str
    tax_id_digest: str
    email_digest: str


class CustomerState(Payload):
    """The customer as it stands after a change: what credit_manager needs, and the version that orders it.

    Every ``user.*`` event carries the whole of it, so a consumer that applies "the newest version
    wins" reaches the same state whatever the order, the duplicates or the gaps. Events published
    before versions were carried have none (and may lack status, birth date or income); they are
    applied as they arrive.
    """

    user_id: uuid.UUID
    version: int | None = Field(default=None, ge=1)
    status: CustomerStatus | None = None
    birth_date: date | None = None
    monthly_income: Money | None = Field(default=None, ge=0)
    reference: CustomerReference | None = None


class UserCreated(CustomerState):
    status: CustomerStatus
    birth_date: date
    monthly_income: Money = Field(ge=0)


class UserUpdated(CustomerState):
    changed_fields: list[str] = []


class UserStatusChanged(CustomerState):
    """Shared by user.blocked, user.unblocked and user.closed."""

    status: CustomerStatus
    reason: str = ""


class DecisionSummary(Payload):
    """The account's latest credit decision (in force or not: a denied limit request is one too)."""

    decision_id: uuid.UUID
    outcome: str
    reason_codes: list[str]
    decided_at: AwareDatetime


class CreditAccountState(Payload):
    """The account as it stands after a change, with its latest decision; ``version`` counts the changes
    of its status, limit, balance and holds. Published before events carried them, ``last_decision`` is
    absent and ``held`` is zero (there were no holds)."""

    account_id: uuid.UUID
    user_id: uuid.UUID
    status: str
    credit_limit: Money
    balance: Money
    held: Money = Decimal("0.00")
    available: Money
    currency: str = "BRL"
    version: int = Field(ge=1)
    last_decision: DecisionSummary | None = None


class CreditAnalysisCompleted(CreditAccountState):
    decision_id: uuid.UUID
    outcome: str
    score: int
    reason_codes: list[str]
    policy_version: int


class CreditLimitChanged(CreditAccountState):
    previous_limit: Money


class CreditTransactionPosted(CreditAccountState):
    transaction_id: uuid.UUID
    transaction_type: str
    amount: Money


class Merchant(Payload):
    name: str
    mcc: str
    country: str | None = None


class CreditAuthorizationChanged(CreditAccountState):
    """Shared by the ``credit.authorization.*`` events: the account after the change, and the authorization.

    ``amount`` is what this event is about (requested, incremented, captured, released); the
    authorization's own totals follow. ``reason_code`` says why a request or increment was declined.
    """

    authorization_id: uuid.UUID
    authorization_status: str
    network_reference: str
    merchant: Merchant
    amount: Money
    authorized_amount: Money
    held_amount: Money
    captured_amount: Money
    released_amount: Money
    reason_code: str | None = None
    transaction_id: uuid.UUID | None = None
    over_limit: bool = False


USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_BLOCKED = "user.blocked"
USER_UNBLOCKED = "user.unblocked"
USER_CLOSED = "user.closed"
CREDIT_ACCOUNT_OPENED = "credit.account.opened"
CREDIT_ANALYSIS_COMPLETED = "credit.analysis.completed"
CREDIT_LIMIT_CHANGED = "credit.limit.changed"
CREDIT_TRANSACTION_POSTED = "credit.transaction.posted"
CREDIT_ACCOUNT_FROZEN = "credit.account.frozen"
CREDIT_ACCOUNT_UNFROZEN = "credit.account.unfrozen"
CREDIT_ACCOUNT_CLOSED = "credit.account.closed"
CREDIT_AUTHORIZATION_APPROVED = "credit.authorization.approved"
CREDIT_AUTHORIZATION_DECLINED = "credit.authorization.declined"
CREDIT_AUTHORIZATION_INCREMENTED = "credit.authorization.incremented"
CREDIT_AUTHORIZATION_CAPTURED = "credit.authorization.captured"
CREDIT_AUTHORIZATION_REVERSED = "credit.authorization.reversed"
CREDIT_AUTHORIZATION_EXPIRED = "credit.authorization.expired"
CREDIT_AUTHORIZATION_EVENTS = (
    CREDIT_AUTHORIZATION_APPROVED,
    CREDIT_AUTHORIZATION_DECLINED,
    CREDIT_AUTHORIZATION_INCREMENTED,
    CREDIT_AUTHORIZATION_CAPTURED,
    CREDIT_AUTHORIZATION_REVERSED,
    CREDIT_AUTHORIZATION_EXPIRED,
)

PAYLOADS: dict[str, type[Payload]] = {
    USER_CREATED: UserCreated,
    USER_UPDATED: UserUpdated,
    USER_BLOCKED: UserStatusChanged,
    USER_UNBLOCKED: UserStatusChanged,
    USER_CLOSED: UserStatusChanged,
    CREDIT_ACCOUNT_OPENED: CreditAccountState,
    CREDIT_ANALYSIS_COMPLETED: CreditAnalysisCompleted,
    CREDIT_LIMIT_CHANGED: CreditLimitChanged,
    CREDIT_TRANSACTION_POSTED: CreditTransactionPosted,
    CREDIT_ACCOUNT_FROZEN: CreditAccountState,
    CREDIT_ACCOUNT_UNFROZEN: CreditAccountState,
    CREDIT_ACCOUNT_CLOSED: CreditAccountState,
} | dict.fromkeys(CREDIT_AUTHORIZATION_EVENTS, CreditAuthorizationChanged)
