"""Card authorizations: the one home of their rules. The API, the admin and the expiry sweep call these.

Every change locks the account's row first (:func:`accounts.services.lock_account`) and reads the
authorization after the lock, so two changes of one account (two requests racing for the last of the
credit, a capture racing a reversal) run one after the other on current facts. The authorization,
its history, the account's holds and balance, the ledger's lines and the events commit together.

A hold stops counting against the limit when it expires, whether or not it was swept yet; any later
change of that authorization first records the expiry (releasing the hold) and then applies to an
expired authorization: a capture is still accepted (networks clear late, and the purchase is owed),
anything else is refused as for any final status.

What the API answers is what these return: the authorization with its whole history in
``history_entries`` (read under the lock with the authorization, each entry recorded since appended),
so nothing is read back after the change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone

from accounts.models import CreditAccount
from accounts.services import (
    account_state,
    announce,
    announced_together,
    hold_credit,
    lock_account_and_look_up,
    lock_account_if_any,
    refuse_credit,
    release_credit,
    write_with_announcements,
)
from authorizations import selectors
from authorizations.models import Authorization, AuthorizationEvent, AuthorizationEventKind, AuthorizationStatus, HoldRule
from common.errors import DomainError, ErrorCode
from common.events.payloads import (
    CREDIT_AUTHORIZATION_APPROVED,
    CREDIT_AUTHORIZATION_CAPTURED,
    CREDIT_AUTHORIZATION_DECLINED,
    CREDIT_AUTHORIZATION_EXPIRED,
    CREDIT_AUTHORIZATION_INCREMENTED,
    CREDIT_AUTHORIZATION_REVERSED,
    CreditAuthorizationChanged,
)
from common.events.payloads import Merchant as MerchantPayload
from common.transactions import atomic_change
from ledger.models import LedgerTransaction
from ledger.services import post_card_capture

EXPIRY_BATCH = 500


@dataclass(frozen=True)
class Merchant:
    name: str
    mcc: str
    country: str = ""


def authorize(
    *, account_id: uuid.UUID, amount: Decimal, merchant: Merchant, network_reference: str
) -> tuple[Authorization, bool]:
    """Approve or decline a card network's request to hold ``amount``; return it and whether it is new.

    Approved, the amount is held until the expiry the merchant category's rule gives. Declined (the
    reason is the code a purchase would be refused with: ``ACCOUNT_NOT_ACTIVE``,
    ``INSUFFICIENT_CREDIT``, ``AMOUNT_NOT_POSITIVE``), it is recorded all the same, final. The same
    ``network_reference`` on the account again (a network retry) returns the first authorization and
    holds nothing more; with a different amount or merchant it is refused (``NETWORK_REFERENCE_REUSED``).
    """
    with atomic_change(), announced_together():
        account, retried_id = lock_account_and_look_up(
            account_id=account_id, lookup=selectors.RETRIED_ID, params=[account_id, network_reference]
        )
        if retried_id is not None:
            existing = selectors.authorization_get(authorization_id=retried_id)
            if (existing.requested_amount, existing.merchant_name, existing.merchant_mcc, existing.merchant_country) != (
                amount, merchant.name, merchant.mcc, merchant.country
            ):  # fmt: skip
                raise DomainError(ErrorCode.NETWORK_REFERENCE_REUSED)
            return existing, False
        now = timezone.now()
        rule = selectors.hold_rule_for(merchant.mcc)
        refusal = refuse_credit(account, amount)
        authorization = Authorization(
            id=uuid.uuid4(), account=account, network_reference=network_reference,
            status=AuthorizationStatus.DECLINED if refusal else AuthorizationStatus.PENDING,
            decline_reason=str(refusal.code) if refusal else "", requested_amount=amount, amount=amount,
            held_amount=Decimal(0) if refusal else amount, merchant_name=merchant.name, merchant_mcc=merchant.mcc,
            merchant_country=merchant.country, hold_rule=rule, expires_at=now + rule.expiry, created_at=now, updated_at=now,
        )  # fmt: skip
        authorization.history_entries = []  # new: its history is what is recorded below
        if refusal is None:
            hold_credit(account, hold_id=authorization.id, amount=amount, expires_at=authorization.expires_at)
        write_with_announcements([authorization])
        _record(
            authorization, account, AuthorizationEventKind.REQUEST, amount, now=now, decline_reason=authorization.decline_reason,
            announced_as=CREDIT_AUTHORIZATION_DECLINED if refusal else CREDIT_AUTHORIZATION_APPROVED,
        )  # fmt: skip
    return authorization, True


def increment(*, authorization_id: uuid.UUID, amount: Decimal) -> Authorization:
    """Raise a pending authorization's hold by ``amount``, approved or declined by the rules of a request.

    A declined increment is recorded in the history (and announced as ``credit.authorization.declined``
    with the authorization still pending); the authorization keeps what it held.
    """
    with atomic_change(), announced_together():
        authorization, account, now = _lock(authorization_id)
        _refuse_if_final(authorization)
        refusal = refuse_credit(account, amount)
        if refusal is None:
            hold_credit(account, hold_id=authorization.id, amount=amount, expires_at=authorization.expires_at)
            authorization.amount += amount
            authorization.held_amount += amount
            _save(authorization, now)
        _record(
            authorization, account, AuthorizationEventKind.INCREMENT, amount, now=now,
            decline_reason=str(refusal.code) if refusal else "",
            announced_as=CREDIT_AUTHORIZATION_DECLINED if refusal else CREDIT_AUTHORIZATION_INCREMENTED,
        )  # fmt: skip
    return authorization


def capture(*, authorization_id: uuid.UUID, amount: Decimal, final: bool = True, force: bool = False) -> Authorization:
    """Post a purchase of ``amount`` for the authorization and release that much of its hold (all of it
    when ``final``); several non-final captures may follow one another while credit is held.

    All captures together may exceed the authorized amount by the hold rule's tolerance; beyond it
    the capture is refused (``CAPTURE_EXCEEDS_AUTHORIZATION``) unless the network forces it. An
    expired authorization still takes captures (nothing is held any more). Either way the purchase
    may leave the account over its limit: the capture and the authorization are flagged.
    """
    with atomic_change(), announced_together():
        authorization, account, now = _lock(authorization_id)
        if authorization.status != AuthorizationStatus.EXPIRED:
            _refuse_if_final(authorization)
        ceiling = authorization.hold_rule.capture_ceiling(authorization.amount)
        if authorization.captured_amount + amount > ceiling and not force:
            room = max(ceiling - authorization.captured_amount, Decimal(0))
            raise DomainError(
                ErrorCode.CAPTURE_EXCEEDS_AUTHORIZATION, f"At most {room:.2f} more may be captured unless the capture is forced."
            )
        released = authorization.held_amount if final else min(amount, authorization.held_amount)
        if released:
            release_credit(account, hold_id=authorization.id, amount=released, for_capture=True)
        posted = post_card_capture(
            account, amount=amount, description=authorization.merchant_name, external_reference=authorization.network_reference
        )
        over_limit = account.over_limit
        authorization.held_amount -= released
        authorization.captured_amount += amount
        authorization.released_amount += max(released - amount, Decimal(0))
        authorization.over_limit |= over_limit
        if authorization.status == AuthorizationStatus.PENDING and authorization.held_amount == 0:
            authorization.status = AuthorizationStatus.CLOSED
        _save(authorization, now)
        _record(
            authorization, account, AuthorizationEventKind.CAPTURE, amount, now=now,
            final=final, forced=force, over_limit=over_limit, transaction=posted, announced_as=CREDIT_AUTHORIZATION_CAPTURED,
        )  # fmt: skip
    return authorization


def reverse(*, authorization_id: uuid.UUID, amount: Decimal | None = None, reason: str = "", created_by=None) -> Authorization:
    """Release ``amount`` of a pending authorization's hold (all of it when not given): the authorization
    is for that much less, so its captures may add up to that much less.

    Released in full, it ends ``reversed`` (``closed`` if part of it was captured before). An
    operator (``created_by``) reversing from the back office says why.
    """
    if amount is not None and amount <= 0:
        raise DomainError(ErrorCode.AMOUNT_NOT_POSITIVE)
    if created_by is not None and not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, "A reversal by an operator needs a reason.")
    with atomic_change(), announced_together():
        authorization, account, now = _lock(authorization_id)
        _refuse_if_final(authorization)
        released = authorization.held_amount if amount is None else amount
        if released > authorization.held_amount:
            raise DomainError(ErrorCode.REVERSAL_EXCEEDS_HOLD, f"Only {authorization.held_amount:.2f} is held.")
        release_credit(account, hold_id=authorization.id, amount=released)
        authorization.amount -= released
        authorization.held_amount -= released
        authorization.released_amount += released
        if authorization.held_amount == 0:
            authorization.status = AuthorizationStatus.CLOSED if authorization.captured_amount else AuthorizationStatus.REVERSED
        _save(authorization, now)
        _record(
            authorization, account, AuthorizationEventKind.REVERSAL, released, now=now, announced_as=CREDIT_AUTHORIZATION_REVERSED,
            created_by=created_by, reason=reason.strip(),
        )  # fmt: skip
    return authorization


def expire_due_holds() -> int:
    """Release the holds of up to ``EXPIRY_BATCH`` pending authorizations past their expiry; return how many.

    Their credit is already available (an expired hold does not count); this records the expiry and
    announces it. Each authorization is expired in its own transaction under its account's lock,
    so a capture or a reversal racing the sweep finds it pending or expired, never half of each.
    """
    due = list(
        Authorization.objects.filter(status=AuthorizationStatus.PENDING, expires_at__lte=timezone.now())
        .order_by("expires_at")
        .values_list("id", flat=True)[:EXPIRY_BATCH]
    )
    expired = 0
    for authorization_id in due:
        with transaction.atomic():
            authorization, account = _locked(authorization_id)
            expired += _expire_if_due(authorization, account, timezone.now())
    return expired


def _lock(authorization_id: uuid.UUID) -> tuple[Authorization, CreditAccount, datetime]:
    """The authorization with its history, its locked account and the time of the change; a pending
    authorization past its expiry is expired first, whatever the change that found it."""
    authorization, account = _locked(authorization_id, with_history=True)
    now = timezone.now()
    _expire_if_due(authorization, account, now)
    return authorization, account, now


def _locked(authorization_id: uuid.UUID, *, with_history: bool = False) -> tuple[Authorization, CreditAccount]:
    """The authorization and its account, locked; the authorization is read after the lock, so current.

    The account is found from the authorization in the locking statement itself (an authorization never
    changes account). ``with_history``: its history too (``history_entries``), also read after the lock.
    """
    account = lock_account_if_any(account_id=Subquery(Authorization.objects.filter(id=authorization_id).values("account_id")))
    if account is None:
        raise DomainError(ErrorCode.AUTHORIZATION_NOT_FOUND)
    authorizations = Authorization.objects.select_related("hold_rule")
    if with_history:
        authorizations = authorizations.prefetch_related(selectors.with_history())
    return authorizations.get(id=authorization_id), account


def _expire_if_due(authorization: Authorization, account: CreditAccount, now: datetime) -> bool:
    if authorization.status != AuthorizationStatus.PENDING or authorization.expires_at > now:
        return False
    released = authorization.held_amount
    release_credit(account, hold_id=authorization.id, amount=released)
    authorization.held_amount = Decimal(0)
    authorization.released_amount += released
    authorization.status = AuthorizationStatus.EXPIRED
    _save(authorization, now)
    _record(authorization, account, AuthorizationEventKind.EXPIRY, released, now=now, announced_as=CREDIT_AUTHORIZATION_EXPIRED)
    return True


def _refuse_if_final(authorization: Authorization) -> None:
    if authorization.is_final:
        raise DomainError(ErrorCode.AUTHORIZATION_FINAL, f"The authorization is {authorization.status}; it cannot change.")


def _save(authorization: Authorization, now: datetime) -> None:
    authorization.updated_at = now
    authorization.save(
        update_fields=["status", "amount", "held_amount", "captured_amount", "released_amount", "over_limit", "updated_at"]
    )


def _record(
    authorization: Authorization,
    account: CreditAccount,
    kind: AuthorizationEventKind,
    amount: Decimal,
    *,
    now: datetime,
    announced_as: str,
    decline_reason: str = "",
    final: bool = False,
    forced: bool = False,
    over_limit: bool = False,
    transaction: LedgerTransaction | None = None,
    created_by=None,
    reason: str = "",
) -> None:
    """Add the step to the authorization's history (and to ``history_entries`` when it was read) and
    announce it with the account as it now stands."""
    entry = AuthorizationEvent(
        authorization=authorization, kind=kind, amount=amount, decline_reason=decline_reason, final=final, forced=forced,
        over_limit=over_limit, transaction=transaction, created_by=created_by, reason=reason, balance_after=account.balance, held_after=account.held_in_force,
        available_after=account.available, created_at=now,
    )  # fmt: skip
    write_with_announcements([entry])
    if hasattr(authorization, "history_entries"):
        authorization.history_entries.append(entry)
    merchant = MerchantPayload(
        name=authorization.merchant_name, mcc=authorization.merchant_mcc, country=authorization.merchant_country or None
    )
    payload = CreditAuthorizationChanged(
        **account_state(account),
        authorization_id=authorization.id,
        authorization_status=authorization.status,
        network_reference=authorization.network_reference,
        merchant=merchant,
        amount=amount,
        authorized_amount=authorization.amount,
        held_amount=authorization.held_amount,
        captured_amount=authorization.captured_amount,
        released_amount=authorization.released_amount,
        reason_code=decline_reason or None,
        transaction_id=transaction.id if transaction else None,
        over_limit=over_limit,
    )
    announce(account, announced_as, payload)


def publish_hold_rule(*, source: HoldRule, created_by) -> HoldRule:
    """Save ``source`` as the next version of its merchant category's rule, in force from now on.

    Versions are never edited: authorizations keep pointing at the version they were given.
    """
    try:
        source.full_clean(exclude=["version", "created_by"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise DomainError(ErrorCode.INVALID_HOLD_RULE, "; ".join(exc.messages)) from exc
    newest = HoldRule.objects.filter(mcc=source.mcc).order_by("-version").values_list("version", flat=True).first()
    try:
        with transaction.atomic():
            published = HoldRule.objects.create(
                mcc=source.mcc, version=(newest or 0) + 1, category=source.category, expiry_days=source.expiry_days,
                capture_tolerance_percent=source.capture_tolerance_percent, note=source.note, created_by=created_by,
            )  # fmt: skip
            selectors.forget_hold_rules()
            return published
    except IntegrityError as exc:
        raise DomainError(ErrorCode.POLICY_VERSION_TAKEN) from exc
