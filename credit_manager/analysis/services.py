"""Credit analysis: onboarding, re-analysis on income change, limit requests and their manual review,
and publishing policy versions. Event handlers, the API, the admin and tasks all call these.

A decision is recorded and applied to the account in one transaction, under the account's row
lock, and announced (``credit.analysis.completed``, plus ``credit.limit.changed`` when the limit
moved) through the outbox.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import AccountStatus, CreditAccount
from accounts.services import (
    AUDITED_AS,
    announced_together,
    follow_customer_status,
    lock_account,
    lock_account_of_customer,
    lock_account_of_customer_if_any,
    open_account,
    put_decision_in_force,
    record_customer_reference,
    record_decision,
    record_income,
    write_with_announcements,
)
from analysis import selectors
from analysis.models import CreditDecision, CreditPolicy, LimitRequest, LimitRequestStatus, Outcome, Trigger
from analysis.policy import Evaluation, Reason, evaluate, limit_request_outcome, policy_errors
from common.audit import services as audit
from common.celery import queue_task
from common.errors import DomainError, ErrorCode
from common.events.payloads import CustomerReference
from common.transactions import after_commit

# The queue workers' tasks (analysis/tasks.py) run these services; services queue them by name.
DECIDE_LIMIT_REQUEST_TASK = "analysis.decide_limit_request"

# Accounts whose limit and status follow the analysis of the customer (a frozen one keeps its status).
ANALYSED = (AccountStatus.PENDING, AccountStatus.ACTIVE, AccountStatus.DENIED, AccountStatus.FROZEN)


def apply_customer_change(
    *,
    user_id: uuid.UUID,
    status: str | None,
    birth_date: date | None,
    monthly_income: Decimal | None,
    reference: CustomerReference | None = None,
) -> CreditAccount:
    """Bring the customer's account in line with the customer as user_manager now describes it.

    Every customer event carries the customer's state, so this is one operation whatever happened:
    an account not opened yet is opened and analysed (an event that overtook ``user.created``
    carries what that needs), a new income is analysed again, and the account follows the
    customer's status. Applying the newest state alone gives the account that applying every change
    in order gives. Raises :class:`NotFound` when there is no account and the event cannot open one
    (an event published before events carried the whole state): it can apply once the account exists.
    """
    with announced_together():  # a unit of its event's transaction (no savepoint); its events written together
        account = lock_account_of_customer_if_any(user_id=user_id)
        if account is None:
            if birth_date is None or monthly_income is None:
                raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND, "No credit account for this customer yet.")
            account = onboard_customer(user_id=user_id, birth_date=birth_date, monthly_income=monthly_income, reference=reference)
        elif monthly_income is not None and monthly_income != account.monthly_income:
            _reanalyse(account, monthly_income=monthly_income)
        if reference is not None:
            record_customer_reference(account, reference=reference)
        if status is not None:
            follow_customer_status(account, customer_status=status)
    return account


def onboard_customer(
    *, user_id: uuid.UUID, birth_date: date, monthly_income: Decimal, reference: CustomerReference | None = None
) -> CreditAccount:
    """A new customer (its caller found no account): open the account and decide the credit.

    The account was inserted by this transaction, so it is already locked: no second read to lock it.
    """
    with transaction.atomic(savepoint=False):
        account = open_account(user_id=user_id, birth_date=birth_date, monthly_income=monthly_income, reference=reference)
        analyse_account(account=account, trigger=Trigger.ONBOARDING)
    return account


def reanalyse_after_income_change(*, user_id: uuid.UUID, monthly_income: Decimal) -> CreditDecision | None:
    """Record the customer's new income and analyse again; an account being closed is not analysed."""
    with transaction.atomic():
        return _reanalyse(lock_account_of_customer(user_id=user_id), monthly_income=monthly_income)


def _reanalyse(account: CreditAccount, *, monthly_income: Decimal) -> CreditDecision | None:
    record_income(account, monthly_income=monthly_income)
    if account.status not in ANALYSED:
        return None
    return analyse_account(account=account, trigger=Trigger.INCOME_CHANGE)


def analyse_account(*, account: CreditAccount, trigger: Trigger) -> CreditDecision:
    """Evaluate the locked account under the policy in force and apply the decision.

    The limit becomes what the policy grants but never less than the balance owed (available is then
    zero: no purchases until paid down). Approved makes the account active, denied makes it denied;
    a frozen account keeps its status and gets the new one when unfrozen.
    """
    policy = selectors.current_policy()
    applicant = selectors.applicant_of(account, policy=policy, now=timezone.now(), opened_now=trigger == Trigger.ONBOARDING)
    evaluation = evaluate(policy, applicant)
    new_limit = max(evaluation.limit, account.balance)
    decision = _record(account, policy, evaluation, trigger=trigger, outcome=evaluation.outcome, granted_limit=new_limit)
    put_decision_in_force(account, decision=decision.as_account_decision(), limit=new_limit)
    return decision


def request_limit(*, account_id: uuid.UUID, requested_limit: Decimal) -> LimitRequest:
    """Take a customer's request for a new limit; it is analysed by a queue worker after commit (202)."""
    with transaction.atomic():
        account = lock_account(account_id=account_id)
        if account.status != AccountStatus.ACTIVE:
            raise DomainError(ErrorCode.ACCOUNT_NOT_ACTIVE, f"Limit requests are not accepted on a {account.status} account.")
        if requested_limit < account.balance:
            raise DomainError(ErrorCode.LIMIT_BELOW_BALANCE, f"The limit cannot be below the balance owed ({account.balance:.2f}).")
        if requested_limit == account.credit_limit:
            raise DomainError(ErrorCode.LIMIT_UNCHANGED)
        try:
            with transaction.atomic():
                request = LimitRequest.objects.create(account=account, requested_limit=requested_limit)
        except IntegrityError as exc:
            raise DomainError(ErrorCode.LIMIT_REQUEST_OPEN) from exc
        requested = {"limit_request_id": str(request.id), "requested_limit": f"{requested_limit:.2f}"}
        audit.record(
            subject_type=AUDITED_AS, subject_id=account.id, action="credit.limit.requested", before=None, after=requested,
            head=account.audit_head,
        )  # fmt: skip
        after_commit(lambda: queue_limit_request(request_id=request.id), what="queue a limit request")
    return request


def queue_limit_request(*, request_id: uuid.UUID) -> None:
    """Hand the request to a queue worker; if the task broker is down, the periodic sweep will."""
    queue_task(DECIDE_LIMIT_REQUEST_TASK, str(request_id))


def requeue_pending_limit_requests(*, older_than: timedelta | None = None) -> int:
    """Queue again the requests still pending after ``older_than`` (a lost task, a broker outage).

    By default, those older than the sweep's own period (``LIMIT_REQUEST_SWEEP_SECONDS``): a request
    is queued when it is taken, so one still pending a whole period later lost its task.
    """
    cutoff = timezone.now() - (older_than or timedelta(seconds=settings.LIMIT_REQUEST_SWEEP_SECONDS))
    stale = list(
        LimitRequest.objects.filter(status=LimitRequestStatus.PENDING, created_at__lt=cutoff).values_list("id", flat=True)
    )
    for request_id in stale:
        queue_limit_request(request_id=request_id)
    return len(stale)


def decide_limit_request(*, request_id: uuid.UUID) -> LimitRequest:
    """Analyse a pending request and decide it; a request already decided is left as it is (redelivery)."""
    with transaction.atomic():
        request = LimitRequest.objects.select_for_update().filter(id=request_id).first()
        if request is None:
            raise DomainError(ErrorCode.LIMIT_REQUEST_NOT_FOUND)
        if request.status != LimitRequestStatus.PENDING:
            return request
        account = lock_account(account_id=request.account_id)
        policy = selectors.current_policy()
        evaluation = evaluate(policy, selectors.applicant_of(account, policy=policy, now=timezone.now()))
        outcome, reasons = limit_request_outcome(
            policy,
            evaluation,
            requested=request.requested_limit,
            current_limit=account.credit_limit,
            account_active=account.status == AccountStatus.ACTIVE,
        )
        new_limit = max(request.requested_limit, account.balance) if outcome == Outcome.APPROVED else None
        decision = _record(
            account, policy, evaluation, trigger=Trigger.LIMIT_REQUEST, outcome=outcome, granted_limit=new_limit,
            reason_codes=reasons, limit_request=request,
        )  # fmt: skip
        request.status = LimitRequestStatus(outcome)
        request.decided_at = decision.created_at
        request.save(update_fields=["status", "decided_at"])
        _apply_request_decision(account, decision)
    return request


def review_limit_request(*, request_id: uuid.UUID, approve: bool, reason: str, decided_by) -> LimitRequest:
    """An operator's decision on a request in manual review, with the reason; who and when are recorded."""
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, "A review needs a reason.")
    with transaction.atomic():
        request = LimitRequest.objects.select_for_update().filter(id=request_id).first()
        if request is None:
            raise DomainError(ErrorCode.LIMIT_REQUEST_NOT_FOUND)
        if request.status != LimitRequestStatus.MANUAL_REVIEW:
            raise DomainError(ErrorCode.LIMIT_REQUEST_NOT_IN_REVIEW, f"The request is {request.status}, not in manual review.")
        account = lock_account(account_id=request.account_id)
        if approve and account.status != AccountStatus.ACTIVE:
            raise DomainError(ErrorCode.ACCOUNT_NOT_ACTIVE, f"The account is {account.status}; a limit cannot be raised.")
        analysed = request.decisions.select_related("policy").get()
        decision = CreditDecision.objects.create(
            account=account,
            policy=analysed.policy,
            trigger=Trigger.LIMIT_REQUEST,
            outcome=Outcome.APPROVED if approve else Outcome.DENIED,
            score=analysed.score,
            breakdown=analysed.breakdown,
            reason_codes=[str(Reason.APPROVED_BY_OPERATOR if approve else Reason.DENIED_BY_OPERATOR)],
            granted_limit=max(request.requested_limit, account.balance) if approve else None,
            limit_request=request,
            decided_by=decided_by,
            note=reason.strip(),
        )
        request.status = LimitRequestStatus.APPROVED if approve else LimitRequestStatus.DENIED
        request.decided_at = decision.created_at
        request.decided_by = decided_by
        request.review_reason = reason.strip()
        request.save(update_fields=["status", "decided_at", "decided_by", "review_reason"])
        _apply_request_decision(account, decision)
    return request


def policy_parameters(policy: CreditPolicy) -> dict[str, Any]:
    """What a policy version decides with: every field but its identity and who published it when."""
    return model_to_dict(policy, exclude=["id", "version", "created_by", "created_at"])


def publish_policy_version(*, source: CreditPolicy, created_by) -> CreditPolicy:
    """Save ``source``'s parameters as the next policy version, in force from now on.

    Versions are never edited: decisions keep pointing at the version they used.
    """
    errors = policy_errors(source)
    if errors:
        raise DomainError(ErrorCode.INVALID_POLICY, "The policy is not consistent: " + "; ".join(errors) + ".")
    parameters = policy_parameters(source)
    newest = selectors.newest_policy()
    try:
        with transaction.atomic():
            version = (newest.version if newest else 0) + 1
            published = CreditPolicy.objects.create(**parameters, version=version, created_by=created_by)
            selectors.forget_current_policy()
            return published
    except IntegrityError as exc:
        raise DomainError(ErrorCode.POLICY_VERSION_TAKEN) from exc


def _record(
    account: CreditAccount,
    policy: CreditPolicy,
    evaluation: Evaluation,
    *,
    trigger: Trigger,
    outcome: Outcome,
    granted_limit: Decimal | None,
    reason_codes: list[str] | None = None,
    limit_request: LimitRequest | None = None,
) -> CreditDecision:
    """The decision, written with the events that announce it (or at once outside ``announced_together``)."""
    decision = CreditDecision(
        account=account,
        policy=policy,
        trigger=trigger,
        outcome=outcome,
        score=evaluation.score,
        breakdown=evaluation.breakdown,
        reason_codes=[str(code) for code in (evaluation.reason_codes if reason_codes is None else reason_codes)],
        granted_limit=granted_limit,
        limit_request=limit_request,
    )
    write_with_announcements([decision])
    return decision


def _apply_request_decision(account: CreditAccount, decision: CreditDecision) -> None:
    """An approved request sets the limit and becomes the account's current decision; any other is only
    the account's latest decision."""
    if decision.outcome == Outcome.APPROVED:
        put_decision_in_force(account, decision=decision.as_account_decision(), limit=decision.granted_limit)
    else:
        record_decision(account, decision=decision.as_account_decision())
