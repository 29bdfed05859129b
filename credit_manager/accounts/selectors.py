"""Reads of credit accounts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.cache import cached_account
from accounts.models import CreditAccount
from common.customer_lookup import email_digest, tax_id_digest
from common.errors import DomainError, ErrorCode


def account_rendered(*, account_id: uuid.UUID, render: Callable[[CreditAccount], str]) -> str:
    """The account as ``render`` makes it (the API's answer), from the cache when it is there (see
    ``accounts.cache``): a hit is one Redis round trip, with no query, no model to rebuild and nothing
    to render again. A hold stops counting the moment it expires, so an answer rendered while holds
    were in force is good until the first of them expires, and rendered again after."""

    def load() -> tuple[datetime | None, str] | None:
        account = CreditAccount.objects.filter(id=account_id).first()
        return None if account is None else (account.next_hold_expiry, render(account))

    cached = cached_account(account_id, load, fresh=_until_a_hold_expires)
    if cached is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND)
    return cached[1]


def _until_a_hold_expires(cached: tuple[datetime | None, str]) -> bool:
    good_until = cached[0]
    return good_until is None or timezone.now() < good_until


MASKED_CPF = re.compile(r"\*{3}\.[0-9]{3}\.[0-9]{3}-\*{2}")


def accounts_matching(accounts: QuerySet[CreditAccount], term: str) -> QuerySet[CreditAccount]:
    """The accounts an operator's search names: by the customer's email or CPF (formatted, digits, or
    masked as lists show it), by a customer or account id, else by a part of the customer's name."""
    term = term.strip()
    if not term:
        return accounts
    if "@" in term:
        return accounts.filter(customer_email_digest=email_digest(term))
    digest = tax_id_digest(term)
    if digest:
        return accounts.filter(customer_tax_id_digest=digest)
    if MASKED_CPF.fullmatch(term):
        return accounts.filter(customer_tax_id_masked=term)
    try:
        found = uuid.UUID(term)
    except ValueError:
        return accounts.filter(customer_name__icontains=term)
    return accounts.filter(Q(id=found) | Q(user_id=found))


def account_list(*, user_id: uuid.UUID | None = None) -> QuerySet[CreditAccount]:
    accounts = CreditAccount.objects.order_by("-opened_at", "id")
    if user_id is not None:
        accounts = accounts.filter(user_id=user_id)
    return accounts
