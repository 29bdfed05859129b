"""Credit account operations: the one home of account rules; consumers, API and admin call these."""

from __future__ import annotations

import uuid

from django.db import transaction

from accounts.models import CreditAccount
from common.events import CREDIT_TOPIC, new_event
from common.events.payloads import CREDIT_ACCOUNT_OPENED, CreditAccountState
from common.outbox.services import publish


def open_account(*, user_id: uuid.UUID) -> CreditAccount:
    """Open the customer's credit account (pending until analysed) and announce it.

    Idempotent: the account is unique per customer, so a redelivered ``user.created`` returns the
    existing account and announces nothing.
    """
    with transaction.atomic():
        account, created = CreditAccount.objects.get_or_create(user_id=user_id)
        if created:
            publish(
                new_event(CREDIT_ACCOUNT_OPENED, subject=account.user_id, data=account_state(account)),
                topic=CREDIT_TOPIC,
                key=str(account.user_id),
            )
    return account


def account_state(account: CreditAccount) -> CreditAccountState:
    return CreditAccountState(
        account_id=account.id,
        user_id=account.user_id,
        status=account.status,
        credit_limit=account.credit_limit,
        balance=account.balance,
        available=account.available,
        currency=account.currency,
        version=account.version,
    )
