"""Credit account operations: the one home of account rules; the ledger, the analysis, the API and the
admin change an account only through the operations named here.

Every operation works on an account locked by the caller's transaction (:func:`lock_account`), saves
what it changed (a change of status, limit or balance is a new ``version``), invalidates the cached
summary after commit and publishes its event, with a typed payload carrying the account's state,
through the outbox in the same transaction. Reading the public functions below is reading every way
an account can change:

- :func:`open_account`: ``credit.account.opened``
- :func:`follow_customer_status` (:func:`freeze_account`, :func:`unfreeze_account`,
  :func:`close_account`): ``credit.account.frozen`` / ``unfrozen`` / ``closed``
- :func:`record_income`: no event (the analysis that follows announces the result)
- :func:`record_customer_reference`: no event (what the back office shows and searches of the customer)
- :func:`put_decision_in_force`, :func:`record_decision`: ``credit.analysis.completed`` and, when the
  limit moved, ``credit.limit.changed``
- :func:`apply_posting`: ``credit.transaction.posted`` (and ``credit.account.closed`` when a posting
  pays off a closing account)
- :func:`hold_credit`, :func:`release_credit`: card authorizations' holds; the authorization that
  placed or released them announces its ``credit.authorization.*`` event (built with
  :func:`account_state`, published with :func:`announce`), and a release that leaves a closing
  account with nothing owed or held closes it (``credit.account.closed``)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Model, Subquery

from accounts.cache import forget_account_on_commit
from accounts.models import ZERO, AccountDecision, AccountStatus, CreditAccount
from common.audit import services as audit
from common.errors import DomainError, ErrorCode
from common.events import CREDIT_TOPIC, CloudEvent, Payload, new_event
from common.events.payloads import (
    CREDIT_ACCOUNT_CLOSED,
    CREDIT_ACCOUNT_FROZEN,
    CREDIT_ACCOUNT_OPENED,
    CREDIT_ACCOUNT_UNFROZEN,
    CREDIT_ANALYSIS_COMPLETED,
    CREDIT_LIMIT_CHANGED,
    CREDIT_TRANSACTION_POSTED,
    CreditAccountState,
    CreditAnalysisCompleted,
    CreditLimitChanged,
    CreditTransactionPosted,
    CustomerReference,
    DecisionSummary,
)
from common.outbox.services import outbox_rows
from common.postgres.reads import columns, read_instance_and_more
from common.postgres.writes import RowUpdate, Write, update_fields, write_together

AUDITED_AS = "account"  # the accounts' subject type in the audit trail
# An account open for business: its status follows the decision in force, and blocking freezes it.
OPEN_FOR_BUSINESS = (AccountStatus.PENDING, AccountStatus.ACTIVE, AccountStatus.DENIED)


def open_account(
    *, user_id: uuid.UUID, birth_date: date, monthly_income: Decimal, reference: CustomerReference | None = None
) -> CreditAccount:
    """Open the customer's credit account (pending until analysed) and announce it.

    For a customer its caller found without an account. The account is unique per customer, so of
    two concurrent openings for one customer only one can insert: the other's transaction fails on
    the unique key, and its retry finds the account.

    Inside :func:`announced_together` the row is written with the block's events, as the changes
    made to it in the block leave it (one insert, no update).
    """
    account = CreditAccount(user_id=user_id, birth_date=birth_date, monthly_income=monthly_income, **_reference_fields(reference))
    account.opened_now = True
    write_with_announcements([account])
    announce(account, CREDIT_ACCOUNT_OPENED, CreditAccountState(**account_state(account)))
    return account


def lock_account(*, account_id: uuid.UUID) -> CreditAccount:
    """The account, locked until the end of the caller's transaction: changes of one account run one at a time."""
    account = lock_account_if_any(account_id=account_id)
    if account is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND)
    return account


def lock_account_and_look_up(*, account_id: uuid.UUID, lookup: str, params: Sequence[Any]) -> tuple[CreditAccount, Any]:
    """:func:`lock_account`, and the value ``lookup`` (SQL selecting one value, or none: None) finds once the
    lock is held, in the same round trip.

    The lock is taken by a statement of its own first, so the lookup, in the next one, sees what committed
    while the lock was awaited: a statement that waits for a row's lock reads that row as it is now, but any
    other table as it was when the statement began.
    """
    found = _locked_where("id = %s", [account_id], lookup=(lookup, params))
    if found is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND)
    return found


def lock_account_if_any(*, account_id: uuid.UUID | Subquery) -> CreditAccount | None:
    """Like :func:`lock_account`; None when there is no such account. ``account_id`` may be a subquery
    (the account a row of another table names), so finding the account and locking it is one statement."""
    if isinstance(account_id, Subquery):
        subquery, params = account_id.query.sql_with_params()
        return _account_of(_locked_where(f"id = ({subquery})", params))
    return _account_of(_locked_where("id = %s", [account_id]))


def lock_account_of_customer_if_any(*, user_id: uuid.UUID) -> CreditAccount | None:
    """Like :func:`lock_account_of_customer`; None when the customer has no account yet."""
    return _account_of(_locked_where("user_id = %s", [user_id]))


def lock_account_of_customer(*, user_id: uuid.UUID) -> CreditAccount:
    """Like :func:`lock_account`, by customer."""
    account = lock_account_of_customer_if_any(user_id=user_id)
    if account is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND, "No credit account for this customer (yet).")
    return account


# What the locked read selects: every column of the account, listed once rather than on every lock.
_ACCOUNT_COLUMNS = columns(CreditAccount)
_ACCOUNTS = CreditAccount._meta.db_table


def _locked_where(
    condition: str, params: Sequence[Any], *, lookup: tuple[str, Sequence[Any]] | None = None
) -> tuple[CreditAccount, Any] | None:
    """The account that meets ``condition`` (SQL), locked, and the head of its audit trail locked after it
    (for the change's audit entries: a round trip less), with what ``lookup`` found (see
    :func:`lock_account_and_look_up`; None without one). Written as SQL because every change of an
    account starts here: building the query through the ORM doubled the CPU of the locked read."""
    looked_up = f", ({lookup[0]}) AS looked_up" if lookup is not None else ""
    read = f"SELECT {_ACCOUNT_COLUMNS}{looked_up} FROM {_ACCOUNTS} WHERE {condition} FOR UPDATE"  # nosec B608 # our names and conditions only
    statement, values = audit.with_locked_head(read, subject_type=AUDITED_AS), [*params]
    if lookup is not None:  # the lock first, by a statement of its own: the lookup's then begins once it is held
        statement = f"SELECT 1 FROM {_ACCOUNTS} WHERE {condition} FOR UPDATE; {statement}"  # nosec B608 # our names and conditions only
        values = [*params, *lookup[1], *params]
    found = read_instance_and_more(CreditAccount, statement, values)
    if found is None:
        return None
    account, more = found
    account.audit_head = audit.Head.read(more[-3:])
    account.state_before = account_state(account)  # how it stood before the change, for the audit trail
    return account, more[0] if lookup is not None else None


def _account_of(found: tuple[CreditAccount, Any] | None) -> CreditAccount | None:
    return found[0] if found is not None else None


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
    """The customer was closed: close the account now if nothing is owed or held, else stop purchases and
    close it when the last of the balance is paid and the last hold released (status ``closing``,
    announced as frozen)."""
    with transaction.atomic():
        account = lock_account_of_customer(user_id=user_id)
        _close(account)
    return account


def record_income(account: CreditAccount, *, monthly_income: Decimal) -> None:
    """The customer's income as user_manager last reported it: the analysis' input, not a new version."""
    if account.monthly_income != monthly_income:
        account.monthly_income = monthly_income
        _save(account, ["monthly_income"], new_version=False)


def record_customer_reference(account: CreditAccount, *, reference: CustomerReference) -> None:
    """How the back office finds and recognises the customer, as user_manager last described them: not a new
    version (nothing of the credit changed)."""
    values = _reference_fields(reference)
    changed = [field for field, value in values.items() if getattr(account, field) != value]
    if changed:
        for field in changed:
            setattr(account, field, values[field])
        _save(account, changed, new_version=False)


def _reference_fields(reference: CustomerReference | None) -> dict[str, str]:
    if reference is None:
        return {}
    return {
        "customer_name": reference.name,
        "customer_tax_id_masked": reference.tax_id_masked,
        "customer_email_masked": reference.email_masked,
        "customer_tax_id_digest": reference.tax_id_digest,
        "customer_email_digest": reference.email_digest,
    }


def put_decision_in_force(account: CreditAccount, *, decision: AccountDecision, limit: Decimal) -> None:
    """``decision`` sets the account's limit and becomes its current and latest decision.

    An account open for business takes the status the decision gives (active when it grants credit,
    denied when not); a frozen one keeps its status and gets that one when unfrozen.
    """
    previous_limit, previous_status = account.credit_limit, account.status
    account.credit_limit = limit
    account.current_decision = decision
    account.last_decision = decision
    fields = ["credit_limit", "current_decision", "last_decision"]
    if account.status in OPEN_FOR_BUSINESS:
        account.status = status_by_decision(account)
        fields.append("status")
    _save(account, fields, new_version=(account.credit_limit, account.status) != (previous_limit, previous_status))
    _announce_decision(account, decision, previous_limit=previous_limit)


def record_decision(account: CreditAccount, *, decision: AccountDecision) -> None:
    """A decision that leaves the account as it is (a limit request denied or sent to review) is still
    its latest decision, announced as such."""
    account.last_decision = decision
    _save(account, ["last_decision"], new_version=False)
    _announce_decision(account, decision, previous_limit=account.credit_limit)


def refuse_credit(account: CreditAccount, amount: Decimal) -> DomainError | None:
    """Why the account cannot take ``amount`` of new credit (a purchase, a card authorization), or None.

    Only an active account gives credit, never above zero nor beyond what is available now.
    """
    if amount <= 0:
        return DomainError(ErrorCode.AMOUNT_NOT_POSITIVE)
    if account.status != AccountStatus.ACTIVE:
        return DomainError(ErrorCode.ACCOUNT_NOT_ACTIVE, f"New credit is not given on a {account.status} account.")
    if amount > account.available:
        return DomainError(ErrorCode.INSUFFICIENT_CREDIT, f"Only {account.available:.2f} of credit is available.")
    return None


def hold_credit(account: CreditAccount, *, hold_id: uuid.UUID, amount: Decimal, expires_at: datetime) -> None:
    """Reserve ``amount`` (more) for the hold ``hold_id`` until ``expires_at``; the caller checked it may be given."""
    key = str(hold_id)
    held = Decimal(account.holds[key][0]) if key in account.holds else ZERO
    account.holds = {**account.holds, key: [str(held + amount), expires_at.isoformat()]}
    account.held += amount
    _save(account, ["held", "holds"], new_version=True)


def release_credit(account: CreditAccount, *, hold_id: uuid.UUID, amount: Decimal, for_capture: bool = False) -> None:
    """Release ``amount`` of the hold ``hold_id`` (all of what it holds at most).

    A closing account left with nothing owed and nothing held closes, unless the hold is released
    ``for_capture``: the purchase posted next is owed.
    """
    key = str(hold_id)
    holds = dict(account.holds)
    held, expires_at = holds.pop(key)
    left = Decimal(held) - amount
    if left > 0:
        holds[key] = [str(left), expires_at]
    account.holds = holds
    account.held -= amount
    fields = ["held", "holds"]
    closes = not for_capture and _close_if_settled(account, fields)
    _save(account, fields, new_version=True)
    if closes:
        announce(account, CREDIT_ACCOUNT_CLOSED, CreditAccountState(**account_state(account)))


def apply_posting(
    account: CreditAccount, *, transaction_id: uuid.UUID, transaction_type: str, amount: Decimal, owed: Decimal
) -> None:
    """A posting of ``amount`` changed the balance owed by ``owed`` (negative when it pays down).

    The ledger checks what may be posted; this keeps the account's running balance. The posting that
    pays off a closing account with nothing held closes it.
    """
    account.balance += owed
    fields = ["balance"]
    closes = _close_if_settled(account, fields)
    _save(account, fields, new_version=True)
    posted = CreditTransactionPosted(
        **account_state(account), transaction_id=transaction_id, transaction_type=transaction_type, amount=amount
    )
    announce(account, CREDIT_TRANSACTION_POSTED, posted)
    if closes:
        announce(account, CREDIT_ACCOUNT_CLOSED, CreditAccountState(**account_state(account)))


def status_by_decision(account: CreditAccount) -> AccountStatus:
    """The status an account open for business has under its current decision."""
    decision = account.current_decision
    if decision is None:
        return AccountStatus.PENDING
    return AccountStatus.ACTIVE if decision.grants_credit else AccountStatus.DENIED


def _close_if_settled(account: CreditAccount, fields: list[str]) -> bool:
    """A closing account left with nothing owed and nothing held closes (its status joins ``fields``)."""
    if account.status != AccountStatus.CLOSING or not account.settled:
        return False
    account.status = AccountStatus.CLOSED
    fields.append("status")
    return True


def _freeze(account: CreditAccount) -> None:
    if account.status in OPEN_FOR_BUSINESS:
        _set_status(account, AccountStatus.FROZEN, announced_as=CREDIT_ACCOUNT_FROZEN)


def _unfreeze(account: CreditAccount) -> None:
    if account.status == AccountStatus.FROZEN:
        _set_status(account, status_by_decision(account), announced_as=CREDIT_ACCOUNT_UNFROZEN)


def _close(account: CreditAccount) -> None:
    if account.status in (AccountStatus.CLOSING, AccountStatus.CLOSED):
        return
    if account.settled:
        _set_status(account, AccountStatus.CLOSED, announced_as=CREDIT_ACCOUNT_CLOSED)
    else:
        _set_status(account, AccountStatus.CLOSING, announced_as=CREDIT_ACCOUNT_FROZEN)


def _set_status(account: CreditAccount, status: AccountStatus, *, announced_as: str) -> None:
    account.status = status
    _save(account, ["status"], new_version=True)
    announce(account, announced_as, CreditAccountState(**account_state(account)))


def _announce_decision(account: CreditAccount, decision: AccountDecision, *, previous_limit: Decimal) -> None:
    completed = CreditAnalysisCompleted(
        **account_state(account),
        decision_id=decision.id,
        outcome=decision.outcome,
        score=decision.score,
        reason_codes=list(decision.reason_codes),
        policy_version=decision.policy_version,
    )
    with announced_together():
        announce(account, CREDIT_ANALYSIS_COMPLETED, completed)
        if account.credit_limit != previous_limit:
            announce(account, CREDIT_LIMIT_CHANGED, CreditLimitChanged(**account_state(account), previous_limit=previous_limit))


def _save(account: CreditAccount, fields: list[str], *, new_version: bool) -> None:
    """Save ``fields`` of the locked account, as a new version when its status, limit or balance changed."""
    if new_version:
        account.version += 1
        fields = [*fields, "version"]
    if account._state.adding:  # opened in this block, not written yet: its insert will carry the change
        return
    together = _announcing.get()
    if together is not None and together.in_its_transaction():
        together.update(account, [*fields, "updated_at"])  # written with the block's events
    else:
        update_fields(account, [*fields, "updated_at"])
    if not account.opened_now:  # an account is cached only once its opening committed, as it then stands
        forget_account_on_commit(account.id)


def account_state(account: CreditAccount) -> dict[str, Any]:
    """What every credit event carries: the account as it now stands and its latest decision."""
    return {
        "account_id": account.id,
        "user_id": account.user_id,
        "status": account.status,
        "credit_limit": account.credit_limit,
        "balance": account.balance,
        "held": account.held_in_force,
        "available": account.available,
        "currency": account.currency,
        "version": account.version,
        "last_decision": _decision_summary(account.last_decision),
    }


def _decision_summary(decision: AccountDecision | None) -> DecisionSummary | None:
    if decision is None:
        return None
    return DecisionSummary(
        decision_id=decision.id,
        outcome=decision.outcome,
        reason_codes=list(decision.reason_codes),
        decided_at=decision.created_at,
    )


def announce(account: CreditAccount, event_type: str, payload: Payload) -> None:
    """Publish the account's event through the outbox, in the caller's transaction, keyed by its customer,
    and record it in the audit trail when an operator, an API key or another service's event made the
    change (the event says what happened and what the account is after it).

    Inside :func:`announced_together`, both are written when the block ends, with the other events of the block.
    """
    change = audit.Change(event_type, account.state_before, payload)
    account.state_before = account_state(account)
    event = new_event(event_type, subject=account.user_id, data=payload)
    together = _announcing.get()
    if together is None:
        _write_announcements(account, [change], [event])
        return
    together.check_savepoints()
    together.add(account, change, event)


def write_with_announcements(*groups: Sequence[Model]) -> None:
    """Insert these new rows of the change (one model per group, as ``write_together`` does) with the
    events of the :func:`announced_together` block around, in the statement that writes them; at once
    outside such a block. Nothing in the block may read them back from the database."""
    together = _announcing.get()
    if together is None:
        write_together(*groups)
        return
    together.check_savepoints()
    together.rows.extend(groups)


@contextmanager
def announced_together() -> Iterator[None]:
    """Write the events the operations inside announce together: per account, one statement appends
    their audit entries and inserts their outbox rows, however many events (opening and analysing an
    account announce up to three), with the rows handed to :func:`write_with_announcements`.

    The block is one unit of the caller's transaction (``atomic(savepoint=False)``): anything raised
    inside rolls the transaction back, so no change commits without its events. Inside it an event may
    not be announced within a savepoint (its rollback would keep the event): that raises RuntimeError.
    A block inside another joins it.
    """
    if _announcing.get() is not None:
        yield
        return
    with transaction.atomic(savepoint=False):
        together = _Announcements(savepoints=_savepoints())
        token = _announcing.set(together)
        try:
            yield
        finally:
            _announcing.reset(token)
        rows = together.rows
        for account, changes, events in together.by_account.values():
            update = together.updates.pop(account.id, None)
            _write_announcements(account, changes, events, written_with=[*rows, update] if update else rows)
            rows = []
        write_together(*rows, *together.updates.values())  # what no event announced, alone


@dataclass
class _Announcements:
    """What an :func:`announced_together` block announced so far, by account, in order."""

    savepoints: list[str]
    by_account: dict[uuid.UUID, tuple[CreditAccount, list[audit.Change], list[CloudEvent]]] = field(default_factory=dict)
    rows: list[Sequence[Model]] = field(default_factory=list)  # groups of new rows to write with the events
    updates: dict[uuid.UUID, RowUpdate] = field(default_factory=dict)  # each account's changed fields, to write with its events

    def in_its_transaction(self) -> bool:
        """Whether what runs now belongs to the block's transaction, not to a savepoint inside it."""
        return _savepoints() == self.savepoints

    def check_savepoints(self) -> None:
        if not self.in_its_transaction():
            raise RuntimeError("announced inside a savepoint of an announced_together block: its rollback would keep the event")

    def update(self, account: CreditAccount, fields: list[str]) -> None:
        """Write these fields of the account (as they stand when the block ends) with its events."""
        known = self.updates.get(account.id)
        self.updates[account.id] = RowUpdate(account, list(dict.fromkeys([*(known.fields if known else ()), *fields])))

    def add(self, account: CreditAccount, change: audit.Change, event: CloudEvent) -> None:
        _, changes, events = self.by_account.setdefault(account.id, (account, [], []))
        changes.append(change)
        events.append(event)


_announcing: ContextVar[_Announcements | None] = ContextVar("announcing", default=None)


def _savepoints() -> list[str]:
    """The savepoints open on the connection (Django notes an atomic block that took none as None)."""
    return [savepoint for savepoint in connection.savepoint_ids if savepoint is not None]


def _write_announcements(
    account: CreditAccount, changes: list[audit.Change], events: list[CloudEvent], written_with: Sequence[Write] = ()
) -> None:
    """An account whose own row is still to be written (opened in the block) has no audit chain yet."""
    outbox = outbox_rows(events, topic=CREDIT_TOPIC, key=str(account.user_id))
    audit.record_all(
        subject_type=AUDITED_AS, subject_id=account.id, changes=changes, written_with=[outbox, *written_with],
        new_subject=account._state.adding, head=account.audit_head,
    )  # fmt: skip
