"""Keeping the credit summary current from credit_manager's events, whatever order they arrive in."""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connection

from common.errors import DomainError, ErrorCode
from common.events.payloads import CreditAccountState, CreditAnalysisCompleted, DecisionSummary
from credit_summary.models import CreditSummary
from users.cache import forget_customer_on_commit
from users.models import Customer

# The summary's fields, in the order the upsert's values follow; the account's are written by every event.
_ACCOUNT_FIELDS = ("account_id", "status", "credit_limit", "balance", "held", "available", "account_version", "updated_at")
_DECISION_FIELDS = ("last_decision_id", "last_decision_outcome", "last_decision_reason_codes", "last_decision_at")
# The model's defaults: what a first event without a decision leaves in the decision's columns.
_NO_DECISION = (None, "", "[]", None)


def record_credit_state(*, state: CreditAccountState, occurred_at: datetime) -> None:
    """Show the account and its latest decision as this event describes them; ``CUSTOMER_NOT_FOUND``
    if there is no such customer.

    Every credit event carries both (one published before events carried the decision leaves the one
    shown), and the inbox hands over only an event published after the one shown (its publication
    sequence), so the newest always wins whatever the arrival order. The upsert locks the summary's
    row, so two events about one customer apply one after the other. One statement, in the caller's
    transaction: this runs for every purchase, and building the ORM's two queries was most of its cost.
    """
    decision = state.last_decision or _own_decision(state, decided_at=occurred_at)
    shown = _NO_DECISION
    if decision is not None:
        shown = (decision.decision_id, decision.outcome, json.dumps(list(decision.reason_codes)), decision.decided_at)
    account = (state.account_id, state.status, state.credit_limit, state.balance, state.held, state.available, state.version)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT[decision is not None], [*account, occurred_at, *shown, state.user_id])
        if cursor.rowcount == 0:  # the SELECT found no customer
            raise DomainError(ErrorCode.CUSTOMER_NOT_FOUND)
    forget_customer_on_commit(state.user_id)


def _own_decision(state: CreditAccountState, *, decided_at: datetime) -> DecisionSummary | None:
    """The decision an analysis event published before events carried the latest decision announces."""
    if not isinstance(state, CreditAnalysisCompleted):
        return None
    return DecisionSummary(
        decision_id=state.decision_id, outcome=state.outcome, reason_codes=state.reason_codes, decided_at=decided_at
    )


def _upsert(*, with_decision: bool) -> str:
    """Insert the customer's summary, or update it (the decision's columns only if the event carries one).

    Inserting from a SELECT of the customer inserts nothing for an unknown one.
    """
    summary, customer = CreditSummary._meta, Customer._meta
    fields = (*_ACCOUNT_FIELDS, *_DECISION_FIELDS)
    columns = [summary.get_field(name).column for name in fields]
    values = ["%s::jsonb" if name == "last_decision_reason_codes" else "%s" for name in fields]
    updated = columns if with_decision else columns[: len(_ACCOUNT_FIELDS)]
    return f"""
        INSERT INTO {summary.db_table} ({summary.pk.column}, {", ".join(columns)})
        SELECT {customer.pk.column}, {", ".join(values)} FROM {customer.db_table} WHERE {customer.pk.column} = %s
        ON CONFLICT ({summary.pk.column}) DO UPDATE SET {", ".join(f"{column} = EXCLUDED.{column}" for column in updated)}
    """  # nosec B608 # only the models' own table and column names are interpolated; every value is a parameter


_UPSERT = {True: _upsert(with_decision=True), False: _upsert(with_decision=False)}
