"""Keeping the credit summary current from credit_manager's events, whatever order they arrive in."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from common.errors import DomainError, ErrorCode
from common.events.payloads import CreditAccountState, CreditAnalysisCompleted, DecisionSummary
from credit_summary.models import CreditSummary
from users.cache import forget_customer_on_commit
from users.models import Customer


def record_credit_state(*, state: CreditAccountState, occurred_at: datetime) -> CreditSummary:
    """Show the account and its latest decision as this event describes them.

    Every credit event carries both, and the inbox hands over only an event published after the one
    shown (its publication sequence), so the newest always wins whatever the arrival order. The
    customer's row is locked, so two events about one customer apply one after the other.
    """
    # No savepoint of its own: one per event would be two more round trips, and a failure here
    # fails the whole event anyway.
    with transaction.atomic(savepoint=False):
        customer = (
            Customer.objects.select_for_update(of=("self",)).select_related("credit_summary").filter(id=state.user_id).first()
        )
        if customer is None:
            raise DomainError(ErrorCode.CUSTOMER_NOT_FOUND)
        existing = getattr(customer, "credit_summary", None)
        summary = existing or CreditSummary(customer=customer)
        summary.account_id = state.account_id
        summary.status = state.status
        summary.credit_limit = state.credit_limit
        summary.balance = state.balance
        summary.held = state.held
        summary.available = state.available
        summary.account_version = state.version
        decision = state.last_decision or _own_decision(state, decided_at=occurred_at)
        if decision is not None:
            summary.last_decision_id = decision.decision_id
            summary.last_decision_outcome = decision.outcome
            summary.last_decision_reason_codes = list(decision.reason_codes)
            summary.last_decision_at = decision.decided_at
        summary.updated_at = occurred_at
        summary.save(force_insert=existing is None)
        forget_customer_on_commit(customer.id)
    return summary


def _own_decision(state: CreditAccountState, *, decided_at: datetime) -> DecisionSummary | None:
    """The decision an analysis event published before events carried the latest decision announces."""
    if not isinstance(state, CreditAnalysisCompleted):
        return None
    return DecisionSummary(
        decision_id=state.decision_id, outcome=state.outcome, reason_codes=state.reason_codes, decided_at=decided_at
    )
