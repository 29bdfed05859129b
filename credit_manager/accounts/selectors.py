"""Reads of credit accounts."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.models import CreditAccount
from common.errors import NotFound


def account_get(*, account_id: uuid.UUID) -> CreditAccount:
    account = CreditAccount.objects.filter(id=account_id).first()
    if account is None:
        raise NotFound("No credit account with this id.", code="account_not_found")
    return account


def account_list(*, user_id: uuid.UUID | None = None) -> QuerySet[CreditAccount]:
    accounts = CreditAccount.objects.order_by("-opened_at", "id")
    if user_id is not None:
        accounts = accounts.filter(user_id=user_id)
    return accounts
