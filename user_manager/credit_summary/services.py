"""Keeping the credit summary current from credit_manager's events, whatever order they arrive in."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from common.errors import NotFound
from common.events.payloads import CreditAccountState, CreditAnalysisCompleted
from credit_summary.models import CreditSummary
from users.cache import forget_customer_on_commit
from users.models import Customer

logger = logging.getLogger(__name__)


def record_credit_state(*, state: CreditAccountState, occurred_at: datetime) -> CreditSummary:
    """Show the newest account state and the latest decision; older or repeated news changes nothing.

    Delivery is at-least-once and not ordered across retries, so arrival order means nothing: the
    state is applied only if its account version is higher than the one shown, the decision only if
    it was taken later than the one shown. The customer's row is locked, so two events about one
    customer apply one after the other.
    """
    # No savepoint of its own: one per event would be two more round trips, and a failure here
    # fails the whole event anyway.
    with transaction.atomic(savepoint=False):
        customer = (
            Customer.objects.select_for_update(of=("self",)).select_related("credit_summary").filter(id=state.user_id).first()
        )
        if customer is None:
            raise NotFound("No customer with this id.", code="customer_not_found")
        existing = getattr(customer, "credit_summary", None)
        summary = existing or CreditSummary(customer=customer)
        changed = _apply_state(summary, state)
        if isinstance(state, CreditAnalysisCompleted):
            changed = _apply_decision(summary, state, decided_at=occurred_at) or changed
        if changed:
            summary.updated_at = max(summary.updated_at or occurred_at, occurred_at)
            summary.save(force_insert=existing is None)
            forget_customer_on_commit(customer.id)
    # DEBUG: the queue worker already logs each event it handles (at INFO, with its id and type).
    logger.debug("credit summary %s", "updated" if changed else "unchanged (older or repeated news)")
    return summary


def _apply_state(summary: CreditSummary, state: CreditAccountState) -> bool:
    if state.version <= summary.account_version:
        return False
    summary.account_id = state.account_id
    summary.status = state.status
    summary.credit_limit = state.credit_limit
    summary.balance = state.balance
    summary.available = state.available
    summary.account_version = state.version
    return True


def _apply_decision(summary: CreditSummary, decision: CreditAnalysisCompleted, *, decided_at: datetime) -> bool:
    if summary.last_decision_at is not None and decided_at <= summary.last_decision_at:
        return False
    summary.last_decision_id = decision.decision_id
    summary.last_decision_outcome = decision.outcome
    summary.last_decision_reason_codes = list(decision.reason_codes)
    summary.last_decision_at = decided_at
    return True
