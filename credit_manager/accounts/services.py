"""Credit account operations: the one home of account rules; consumers, API, admin and the other apps call these.

Every change of an account happens under a row lock (:func:`lock_account`), goes through
:func:`update_account` (version + 1, cache invalidated after commit) and is announced with
:func:`announce` in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from accounts.cache import forget_account_on_commit
from accounts.models import AccountStatus, CreditAccount
from common.errors import DomainError, ErrorCode
from common.events import CREDIT_TOPIC, new_event
from common.events.payloads import (
    CREDIT_ACCOUNT_CLOSED,
    CREDIT_ACCOUNT_FROZEN,
    CREDIT_ACCOUNT_OPENED,
    CREDIT_ACCOUNT_UNFROZEN,
    PAYLOADS,
    CreditAccountState,
    DecisionSummary,
)
from common.outbox.services import publish

# A change of any of these is a new version of the account (what credit events carry).
STATE_FIELDS = frozenset({"status", "credit_limit", "balance"})
FREEZABLE = (AccountStatus.PENDING, AccountStatus.ACTIVE, AccountStatus.DENIED)


def open_account(*, user_id: uuid.UUID, birth_date: date, monthly_income: Decimal) -> tuple[CreditAccount, bool]:
    """Open the customer's credit account (pending until analysed) and announce it; return it and whether it is new.

    Idempotent: the account is unique per customer, so a redelivered ``user.created`` returns the
    existing account and announces nothing. Two concurrent openings for one customer cannot both
    insert: the loser's transaction fails on the unique key, and its retry finds the account.
    """
    with transaction.atomic(savepoint=False):
        account = CreditAccount.objects.filter(user_id=user_id).first()
        if account is not None:
            return account, False
        account = CreditAccount.objects.create(user_id=user_id, birth_date=birth_date, monthly_income=monthly_income)
        announce(account, CREDIT_ACCOUNT_OPENED)
    return account, True


def lock_account(*, account_id: uuid.UUID) -> CreditAccount:
    """The account, locked until the end of the caller's transaction: changes of one account run one at a time."""
    account = _locked_accounts().filter(id=account_id).first()
    if account is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND)
    return account


def lock_account_of_customer_if_any(*, user_id: uuid.UUID) -> CreditAccount | None:
    """Like :func:`lock_account_of_customer`; None when the customer has no account yet."""
    return _locked_accounts().filter(user_id=user_id).first()


def lock_account_of_customer(*, user_id: uuid.UUID) -> CreditAccount:
    """Like :func:`lock_account`, by customer."""
    account = lock_account_of_customer_if_any(user_id=user_id)
    if account is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND, "No credit account for this customer (yet).")
    return account


def _locked_accounts() -> QuerySet[CreditAccount]:
    """Accounts read to be changed: locked (not their decisions), with the decisions events carry."""
    return CreditAccount.objects.select_for_update(of=("self",)).select_related("current_decision", "last_decision")


def update_account(account: CreditAccount, **values: Any) -> None:
    """Set ``values`` on a locked account and save the fields that changed.

    A change of status, limit or balance is a new version of the account. The cached summary is
    invalidated after commit.
    """
    changed = [name for name, value in values.items() if getattr(account, name) != value]
    if not changed:
        return
    for name in changed:
        setattr(account, name, values[name])
    fields = changed
    if STATE_FIELDS.intersection(changed):
        account.version += 1
        fields = [*changed, "version"]
    account.save(update_fields=[*fields, "updated_at"])
    forget_account_on_commit(account.id)


def announce(account: CreditAccount, event_type: str, **details: Any) -> None:
    """Publish ``event_type`` carrying the account's state as it now stands (plus the type's own ``details``)."""
    payload = PAYLOADS[event_type](**account_state(account).model_dump(), **details)
    publish(new_event(event_type, subject=account.user_id, data=payload), topic=CREDIT_TOPIC, key=str(account.user_id))


def account_state(account: CreditAccount) -> CreditAccountState:
    return CreditAccountState(
        account_id=account.id,
        user_id=account.user_id,
        status=account.status,
        credit_limit=account.credit_limit,
        balance=account.balance,
        available=account.available,
        currency=account.currency,
        version=account.version,
        last_decision=_decision_summary(account.last_decision),
    )


def _decision_summary(decision) -> DecisionSummary | None:
    if decision is None:
        return None
    return DecisionSummary(
        decision_id=decision.id, outcome=decision.outcome, reason_codes=list(decision.reason_codes), decided_at=decision.created_at
    )


def follow_customer_status(account: CreditAccount, *, customer_status: str) -> None:
    """Bring a locked account in line with its customer's status: blocked freezes it, active unfreezes it,
    closed closes it. A status the account already follows changes nothing, so applying the newest
    status alone gives the same account as applying every change in order."""
    if customer_status == "blocked":
        _freeze(account)
    elif customer_status == "active":
        _unfreeze(account)
    elif customer_status == "closed":
        _close(account)


def freeze_account(*, user_id: uuid.UUID) -> CreditAccount:
    """The customer was blocked: no more purchases (payments and refunds are still taken). Repeats change nothing."""
    with transaction.atomic():
        account = lock_account_of_customer(user_id=user_id)
        _freeze(account)
    return account


def unfreeze_account(*, user_id: uuid.UUID) -> CreditAccount:
    """The customer was unblocked: back to what the account's current decision says. Repeats change nothing."""
    with transaction.atomic():
        account = lock_account_of_customer(user_id=user_id)
        _unfreeze(account)
    return account


def close_account(*, user_id: uuid.UUID) -> CreditAccount:
    """The customer was closed: close the account now if nothing is owed, else stop purchases and close it
    on the payment that clears the balance (status ``closing``, announced as frozen)."""
    with transaction.atomic():
        account = lock_account_of_customer(user_id=user_id)
        _close(account)
    return account


def _freeze(account: CreditAccount) -> None:
    if account.status in FREEZABLE:
        update_account(account, status=AccountStatus.FROZEN)
        announce(account, CREDIT_ACCOUNT_FROZEN)


def _unfreeze(account: CreditAccount) -> None:
    if account.status == AccountStatus.FROZEN:
        update_account(account, status=status_by_decision(account))
        announce(account, CREDIT_ACCOUNT_UNFROZEN)


def _close(account: CreditAccount) -> None:
    if account.status in (AccountStatus.CLOSING, AccountStatus.CLOSED):
        return
    if account.balance == 0:
        update_account(account, status=AccountStatus.CLOSED)
        announce(account, CREDIT_ACCOUNT_CLOSED)
    else:
        update_account(account, status=AccountStatus.CLOSING)
        announce(account, CREDIT_ACCOUNT_FROZEN)


def status_by_decision(account: CreditAccount) -> AccountStatus:
    """The status an account open for business has under its current decision."""
    decision = account.current_decision
    if decision is None:
        return AccountStatus.PENDING
    return AccountStatus.ACTIVE if decision.grants_credit else AccountStatus.DENIED
