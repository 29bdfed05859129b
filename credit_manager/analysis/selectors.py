"""Reads of the credit analysis: the policy in force, decisions, limit requests, and the applicant's data."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from accounts.models import CreditAccount
from analysis.models import CreditDecision, CreditPolicy, LimitRequest
from analysis.policy import Applicant, History, age_on
from common.errors import DomainError, ErrorCode
from common.process_memory import ProcessMemory
from ledger.selectors import payment_record

# The policy in force, as this process read it a moment ago: every analysis needs it, and it changes
# only when a version is published (versions are never edited). No announcement reaches the other
# processes (that would make every queue worker hear every cached account's change): they read it
# again within POLICY_MEMORY_SECONDS.
POLICY_MEMORY_SECONDS = 1.0
_in_force: ProcessMemory[CreditPolicy] = ProcessMemory(
    "policy", seconds=lambda: POLICY_MEMORY_SECONDS, max_entries=1, announced=False
)
_IN_FORCE = "in-force"


def current_policy() -> CreditPolicy:
    """The version an analysis decides with: the newest, as this process read it at most
    ``POLICY_MEMORY_SECONDS`` ago (at once after a publication in this process: :func:`forget_current_policy`)."""
    return _in_force.recall_or_read(_IN_FORCE, newest_policy)


def newest_policy() -> CreditPolicy:
    """The newest version as the database has it now (version 1 is created by a migration, so there
    always is one): what a publication numbers itself after."""
    return CreditPolicy.objects.order_by("-version").first()


def forget_current_policy() -> None:
    """A version is being published: this process reads the policy in force again from now on."""
    _in_force.forget(_IN_FORCE)


def decision_list(*, account_id: uuid.UUID) -> QuerySet[CreditDecision]:
    """The account's decisions, newest first (404 for an unknown account, not an empty page)."""
    if not CreditAccount.objects.filter(id=account_id).exists():
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND)
    return CreditDecision.objects.filter(account_id=account_id).select_related("policy").order_by("-created_at", "-id")


def limit_request_get(*, request_id: uuid.UUID) -> LimitRequest:
    request = LimitRequest.objects.filter(id=request_id).prefetch_related("decisions__policy").first()
    if request is None:
        raise DomainError(ErrorCode.LIMIT_REQUEST_NOT_FOUND)
    return request


def latest_decision(request: LimitRequest) -> CreditDecision | None:
    """The decision that stands on a request: the operator's after a manual review, else the analysis's."""
    return max(request.decisions.all(), key=lambda decision: decision.created_at, default=None)


def applicant_of(account: CreditAccount, *, policy: CreditPolicy, now: datetime, opened_now: bool = False) -> Applicant:
    """What the policy looks at: the customer's age and income, and the account's history (none to
    read for an account ``opened_now``, by the caller's transaction)."""
    history = None if opened_now else _history(account, policy=policy, now=now)
    return Applicant(age=age_on(account.birth_date, now.date()), monthly_income=account.monthly_income, history=history)


def _history(account: CreditAccount, *, policy: CreditPolicy, now: datetime) -> History | None:
    record = payment_record(
        account_id=account.id, periods=policy.history_periods, period_days=policy.history_period_days, now=now
    )
    if not record.has_transactions:
        return None
    return History(utilisation=_utilisation(account), due_periods=record.due_periods, paid_periods=record.paid_periods)


def _utilisation(account: CreditAccount) -> Decimal:
    if account.credit_limit > 0:
        return (account.balance / account.credit_limit).quantize(Decimal("0.01"))
    return Decimal(1) if account.balance > 0 else Decimal(0)
