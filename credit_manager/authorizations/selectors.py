"""Reads of card authorizations, the hold rules in force, and the check that every account's holds add up."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.models import ZERO, CreditAccount
from authorizations.models import Authorization, AuthorizationEvent, AuthorizationStatus, HoldRule
from common.errors import DomainError, ErrorCode
from common.process_memory import ProcessMemory

# Every approval needs the rule of its merchant category; rules change only when a version is published
# (never edited). The publishing process forgets them at once (forget_hold_rules), the others read them
# again within HOLD_RULE_MEMORY_SECONDS, and each authorization keeps the version it was given.
HOLD_RULE_MEMORY_SECONDS = 1.0
_in_force: ProcessMemory[dict[str, HoldRule]] = ProcessMemory(
    "hold-rules", seconds=lambda: HOLD_RULE_MEMORY_SECONDS, max_entries=1, announced=False
)
_IN_FORCE = "in-force"


def hold_rule_for(mcc: str) -> HoldRule:
    """The newest rule of the merchant category, else the newest default rule (a migration creates one),
    as this process read the rules in force at most ``HOLD_RULE_MEMORY_SECONDS`` ago."""
    rules = _in_force.recall_or_read(_IN_FORCE, lambda: {rule.mcc: rule for rule in rules_in_force()})
    rule = rules.get(mcc) or rules.get("")
    if rule is None:
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE, "No hold rule is in force.")
    return rule


def rules_in_force() -> QuerySet[HoldRule]:
    """The newest version of each category's rule."""
    return HoldRule.objects.order_by("mcc", "-version").distinct("mcc")


def forget_hold_rules() -> None:
    """A version is being published: this process reads the rules in force again from now on."""
    _in_force.forget(_IN_FORCE)


def with_history() -> Prefetch:
    """Read an authorization's history with it, oldest first, into ``history_entries``: what the API shows.

    The services read a changed authorization this way and append each entry they record, so what they
    return is answered as it is without reading it back.
    """
    return Prefetch("history", queryset=AuthorizationEvent.objects.order_by("id"), to_attr="history_entries")


# Every request of the card network looks for an earlier one with its reference first (a network retry):
# the id of the account's authorization of the reference, if any (unique per account), read with the
# account's lock (``accounts.services.lock_account_and_look_up``). Parameters: the account, the reference.
RETRIED_ID = f"SELECT id FROM {Authorization._meta.db_table} WHERE account_id = %s AND network_reference = %s"  # nosec B608 # the model's own names only


def authorization_get(*, authorization_id: uuid.UUID) -> Authorization:
    """The authorization with its history (``history_entries``)."""
    authorization = Authorization.objects.prefetch_related(with_history()).filter(id=authorization_id).first()
    if authorization is None:
        raise DomainError(ErrorCode.AUTHORIZATION_NOT_FOUND)
    return authorization


def authorization_list(*, account_id: uuid.UUID, status: str | None = None) -> QuerySet[Authorization]:
    """The account's authorizations, newest first (404 for an unknown account, not an empty page)."""
    if not CreditAccount.objects.filter(id=account_id).exists():
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND)
    authorizations = Authorization.objects.filter(account_id=account_id).order_by("-created_at", "-id")
    return authorizations.filter(status=status) if status else authorizations


@dataclass(frozen=True)
class HoldMismatch:
    account_id: uuid.UUID
    held: Decimal  # what the account says it holds
    pending: Decimal  # what its pending authorizations hold


def check_holds() -> tuple[int, list[HoldMismatch]]:
    """Compare every account's ``held`` and ``holds`` with its pending authorizations; return how many
    accounts hold something and those whose figures disagree."""
    pending: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(dict)
    rows = Authorization.objects.filter(status=AuthorizationStatus.PENDING).values_list("account_id", "id", "held_amount")
    for account_id, authorization_id, held in rows.iterator():
        pending[account_id][str(authorization_id)] = held
    has_pending = Exists(Authorization.objects.filter(account=OuterRef("pk"), status=AuthorizationStatus.PENDING))
    accounts = CreditAccount.objects.filter(~Q(held=0) | ~Q(holds={}) | has_pending).only("id", "held", "holds").order_by("id")
    checked, mismatches = 0, []
    for account in accounts.iterator():
        checked += 1
        expected = pending.get(account.id, {})
        kept = {key: Decimal(amount) for key, (amount, _) in account.holds.items()}
        if account.held != sum(expected.values(), ZERO) or kept != expected:
            mismatches.append(HoldMismatch(account_id=account.id, held=account.held, pending=sum(expected.values(), ZERO)))
    return checked, mismatches
