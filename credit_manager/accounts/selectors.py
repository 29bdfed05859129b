"""Reads of credit accounts."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.cache import cached_account
from accounts.models import CreditAccount
from common.errors import DomainError, ErrorCode


def account_get(*, account_id: uuid.UUID) -> CreditAccount:
    """The account (its current decision is part of it), from the cache when it is there (see ``accounts.cache``)."""
    account = cached_account(account_id, lambda: CreditAccount.objects.filter(id=account_id).first())
    if account is None:
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND)
    return account


def account_list(*, user_id: uuid.UUID | None = None) -> QuerySet[CreditAccount]:
    accounts = CreditAccount.objects.order_by("-opened_at", "id")
    if user_id is not None:
        accounts = accounts.filter(user_id=user_id)
    return accounts
