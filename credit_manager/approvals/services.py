"""Four eyes on money: the one home of approval rules. The back office asks and decides through these.

A request stores exactly what will execute (``payload``, and its hash) and the facts the maker saw;
:func:`approve` executes it, in the same transaction as the approval, through the same service
function that would otherwise have run at once (``ledger.services.post_adjustment``,
``reverse_transaction``, ``analysis.services.review_limit_request``, ``publish_policy_version``),
and only if the checker is not the maker, the request has not expired, its payload is unchanged and
its facts still hold (otherwise it becomes ``stale`` and must be asked again).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import CreditAccount
from accounts.services import AUDITED_AS, lock_account
from analysis import selectors as analysis_selectors
from analysis.models import CreditPolicy, LimitRequest
from analysis.services import policy_parameters, publish_policy_version, review_limit_request
from approvals.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from common.audit import services as audit
from common.errors import DomainError, ErrorCode
from ledger.models import Direction, LedgerTransaction
from ledger.services import check_amount, post_adjustment, reverse_transaction


def request_adjustment(*, account_id: uuid.UUID, direction: str, amount: Decimal, reason: str, requested_by) -> ApprovalRequest:
    """Ask for an adjustment of the balance owed (a fee: debit; a goodwill credit: credit)."""
    direction = Direction(direction)
    check_amount(amount)
    account = CreditAccount.objects.filter(id=account_id).first()
    if account is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND)
    payload = {"account_id": str(account_id), "direction": direction.value, "amount": f"{amount:.2f}", "reason": reason.strip()}
    summary = f"{direction.value} adjustment of {amount:.2f} on the {account}"
    return _ask(ApprovalKind.ADJUSTMENT, payload, summary=summary, reason=reason, requested_by=requested_by, account=account)


def request_reversal(*, transaction_id: uuid.UUID, reason: str, requested_by) -> ApprovalRequest:
    """Ask for the reversal of a posted transaction."""
    original = LedgerTransaction.objects.select_related("account").filter(id=transaction_id).first()
    if original is None:
        raise DomainError(ErrorCode.TRANSACTION_NOT_FOUND)
    payload = {"transaction_id": str(transaction_id), "reason": reason.strip()}
    summary = (
        f"reversal of the {original.type} of {original.amount:.2f} posted {original.created_at:%Y-%m-%d %H:%M:%S} ({original.id})"
    )
    return _ask(
        ApprovalKind.REVERSAL, payload, summary=summary, reason=reason, requested_by=requested_by, account=original.account
    )


def request_limit_decision(*, limit_request_id: uuid.UUID, approve: bool, reason: str, requested_by) -> ApprovalRequest:
    """Ask to approve or deny a limit request in manual review."""
    limit_request = LimitRequest.objects.select_related("account").filter(id=limit_request_id).first()
    if limit_request is None:
        raise DomainError(ErrorCode.LIMIT_REQUEST_NOT_FOUND)
    payload = {"limit_request_id": str(limit_request_id), "approve": approve, "reason": reason.strip()}
    verb = "approve" if approve else "deny"
    summary = f"{verb} the limit of {limit_request.requested_limit:.2f} asked for the {limit_request.account}"
    return _ask(
        ApprovalKind.LIMIT_DECISION,
        payload,
        summary=summary,
        reason=reason,
        requested_by=requested_by,
        account=limit_request.account,
    )


def request_policy_version(*, source: CreditPolicy, requested_by) -> ApprovalRequest:
    """Ask to publish ``source``'s parameters as the next credit policy version."""
    parameters = json.loads(json.dumps(policy_parameters(source), default=str))
    summary = f"publish a new credit policy version: {source.note or 'no note'}"
    return _ask(
        ApprovalKind.POLICY_VERSION, {"parameters": parameters}, summary=summary, reason=source.note, requested_by=requested_by
    )


def approve(*, request_id: uuid.UUID, checker, note: str = "") -> ApprovalRequest:
    """Execute the request as it was asked, for a checker who is not its maker.

    An expired request, or one whose facts changed, is closed as ``expired`` / ``stale`` and refused
    (``APPROVAL_EXPIRED`` / ``APPROVAL_STALE``): the maker asks again on the new facts.
    """
    with transaction.atomic():
        request = _decidable(request_id, checker)
        ended = _end_if_outdated(request, checker)
        if ended is None:
            request.result = EXECUTE[request.kind](request)
            _decide(request, ApprovalStatus.EXECUTED, checker, note)
    if ended is not None:
        raise DomainError(ended)
    return request


def reject(*, request_id: uuid.UUID, checker, note: str) -> ApprovalRequest:
    """A checker (not the maker) refuses the request, saying why."""
    if not note.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, "A rejection needs a reason.")
    with transaction.atomic():
        request = _decidable(request_id, checker)
        _decide(request, ApprovalStatus.REJECTED, checker, note)
    return request


def cancel(*, request_id: uuid.UUID, maker) -> ApprovalRequest:
    """The maker withdraws a pending request."""
    with transaction.atomic():
        request = _locked(request_id)
        if request.requested_by_id != maker.pk:
            raise DomainError(ErrorCode.NOT_THE_MAKER)
        _require_pending(request)
        _decide(request, ApprovalStatus.CANCELLED, None, "")  # nobody decided: the maker withdrew it
    return request


def _ask(kind: ApprovalKind, payload: dict, *, summary: str, reason: str, requested_by, account=None) -> ApprovalRequest:
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, "A request needs a reason.")
    now = timezone.now()
    request = ApprovalRequest.objects.create(
        kind=kind, account=account, summary=summary[:300], payload=payload, payload_hash=_hash(payload),
        facts=FACTS[kind](payload), reason=reason.strip()[:500], requested_by=requested_by, requested_at=now,
        expires_at=now + timedelta(hours=settings.APPROVAL_EXPIRY_HOURS),
    )  # fmt: skip
    _audit(request, "approval.requested")
    return request


def _decidable(request_id: uuid.UUID, checker) -> ApprovalRequest:
    request = _locked(request_id)
    if request.requested_by_id == checker.pk:
        raise DomainError(ErrorCode.CHECKER_IS_MAKER)
    _require_pending(request)
    if request.account_id:
        lock_account(account_id=request.account_id)  # the facts are read, and the request executes, under the lock
    return request


def _end_if_outdated(request: ApprovalRequest, checker) -> ErrorCode | None:
    if timezone.now() >= request.expires_at:
        _decide(request, ApprovalStatus.EXPIRED, checker, "")
        return ErrorCode.APPROVAL_EXPIRED
    if _hash(request.payload) != request.payload_hash:
        raise DomainError(ErrorCode.APPROVAL_TAMPERED)
    if FACTS[request.kind](request.payload) != request.facts:
        _decide(request, ApprovalStatus.STALE, checker, "")
        return ErrorCode.APPROVAL_STALE
    return None


def _locked(request_id: uuid.UUID) -> ApprovalRequest:
    request = ApprovalRequest.objects.select_for_update().filter(id=request_id).first()
    if request is None:
        raise DomainError(ErrorCode.APPROVAL_NOT_FOUND)
    return request


def _require_pending(request: ApprovalRequest) -> None:
    if request.status != ApprovalStatus.PENDING:
        raise DomainError(ErrorCode.APPROVAL_NOT_PENDING, f"The request is {request.status}.")


def _decide(request: ApprovalRequest, status: ApprovalStatus, by, note: str) -> None:
    request.status, request.decided_by, request.decided_at, request.decision_note = status, by, timezone.now(), note.strip()
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "result"])
    _audit(request, f"approval.{status}")


def _audit(request: ApprovalRequest, action: str) -> None:
    """The account's audit trail shows who asked and who decided, beside the change the request made."""
    if request.account_id:
        recorded = {"approval_request_id": str(request.id), "summary": request.summary, "status": request.status}
        audit.record(subject_type=AUDITED_AS, subject_id=request.account_id, action=action, before=None, after=recorded)


def _hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# What must still hold for a request to execute, read the same way when it is asked and when it is approved.
def _adjustment_facts(payload: dict) -> dict[str, Any]:
    account = CreditAccount.objects.get(id=payload["account_id"])
    facts: dict[str, Any] = {"account_status": account.status}
    if payload["direction"] == Direction.CREDIT:
        facts["balance_covers_it"] = account.balance >= Decimal(payload["amount"])
    return facts


def _reversal_facts(payload: dict) -> dict[str, Any]:
    original = LedgerTransaction.objects.select_related("account").get(id=payload["transaction_id"])
    return {"account_status": original.account.status, "reversed": LedgerTransaction.objects.filter(reverses=original).exists()}


def _limit_decision_facts(payload: dict) -> dict[str, Any]:
    limit_request = LimitRequest.objects.select_related("account").get(id=payload["limit_request_id"])
    account = limit_request.account
    return {
        "request_status": limit_request.status,
        "account_status": account.status,
        "credit_limit": f"{account.credit_limit:.2f}",
    }


def _policy_facts(payload: dict) -> dict[str, Any]:
    newest = analysis_selectors.newest_policy()
    return {"newest_version": newest.version if newest else None}


FACTS: dict[str, Callable[[dict], dict[str, Any]]] = {
    ApprovalKind.ADJUSTMENT: _adjustment_facts,
    ApprovalKind.REVERSAL: _reversal_facts,
    ApprovalKind.LIMIT_DECISION: _limit_decision_facts,
    ApprovalKind.POLICY_VERSION: _policy_facts,
}


# What an approved request runs: the service function that would otherwise have run at once, as the
# maker's; each returns what it produced.
def _execute_adjustment(request: ApprovalRequest) -> str:
    payload = request.payload
    posted = post_adjustment(
        account_id=uuid.UUID(payload["account_id"]), direction=Direction(payload["direction"]), amount=Decimal(payload["amount"]),
        reason=payload["reason"], created_by=request.requested_by,
    )  # fmt: skip
    return f"transaction {posted.id}"


def _execute_reversal(request: ApprovalRequest) -> str:
    payload = request.payload
    reversal = reverse_transaction(
        transaction_id=uuid.UUID(payload["transaction_id"]), reason=payload["reason"], created_by=request.requested_by
    )
    return f"transaction {reversal.id}"


def _execute_limit_decision(request: ApprovalRequest) -> str:
    payload = request.payload
    decided = review_limit_request(
        request_id=uuid.UUID(payload["limit_request_id"]), approve=payload["approve"], reason=payload["reason"],
        decided_by=request.requested_by,
    )  # fmt: skip
    return f"limit request {decided.id} {decided.status}"


def _execute_policy_version(request: ApprovalRequest) -> str:
    fields = {name: CreditPolicy._meta.get_field(name).to_python(value) for name, value in request.payload["parameters"].items()}
    published = publish_policy_version(source=CreditPolicy(**fields), created_by=request.requested_by)
    return f"policy v{published.version}"


EXECUTE: dict[str, Callable[[ApprovalRequest], str]] = {
    ApprovalKind.ADJUSTMENT: _execute_adjustment,
    ApprovalKind.REVERSAL: _execute_reversal,
    ApprovalKind.LIMIT_DECISION: _execute_limit_decision,
    ApprovalKind.POLICY_VERSION: _execute_policy_version,
}
