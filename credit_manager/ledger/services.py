"""Posting to the ledger: the one code path for purchases, payments, refunds, adjustments and reversals.

Each posting locks the account row (``SELECT ... FOR UPDATE``), so postings on one account run one
after the other in the database, never in Python memory; the balance update, the transaction, its
lines and the event commit together or not at all.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction

from accounts.models import AccountStatus, CreditAccount
from accounts.services import announced_together, apply_posting, lock_account, refuse_credit, write_with_announcements
from common.errors import DomainError, ErrorCode
from common.transactions import atomic_change
from ledger.models import Direction, LedgerAccount, LedgerEntry, LedgerTransaction, TransactionType

# What a customer posting does to the balance owed, and the counter account it is booked against.
CUSTOMER_POSTINGS = {
    TransactionType.PURCHASE: (Direction.DEBIT, LedgerAccount.MERCHANT_SETTLEMENT),
    TransactionType.PAYMENT: (Direction.CREDIT, LedgerAccount.CASH),
    TransactionType.REFUND: (Direction.CREDIT, LedgerAccount.MERCHANT_SETTLEMENT),
}
MAX_BALANCE = Decimal("999999999999.99")  # what the balance column holds
CENT = Decimal("0.01")
# The refusal of a posting that would take the balance owed below zero, by the posting's type.
EXCEEDS_BALANCE = {
    TransactionType.PAYMENT: ErrorCode.PAYMENT_EXCEEDS_BALANCE,
    TransactionType.REFUND: ErrorCode.REFUND_EXCEEDS_BALANCE,
    TransactionType.ADJUSTMENT: ErrorCode.ADJUSTMENT_EXCEEDS_BALANCE,
    TransactionType.REVERSAL: ErrorCode.REVERSAL_EXCEEDS_BALANCE,
}


def post_transaction(
    *, account_id: uuid.UUID, type: TransactionType, amount: Decimal, description: str = "", external_reference: str = ""
) -> LedgerTransaction:
    """Post a purchase, payment or refund.

    A purchase is a card authorization captured at once: the same rules give the credit (an active
    account, else ``ACCOUNT_NOT_ACTIVE``; enough available credit, holds counted, else
    ``INSUFFICIENT_CREDIT``), with no hold in between. Payments and refunds are taken on any account
    not closed (``ACCOUNT_CLOSED``) and never for more than the balance owed.
    """
    type = TransactionType(type)
    direction, counter = CUSTOMER_POSTINGS[type]
    with atomic_change():
        account = lock_account(account_id=account_id)
        refusal = refuse_credit(account, amount) if type == TransactionType.PURCHASE else None
        if refusal is not None:
            raise refusal
        return _post(
            account, type=type, direction=direction, counter=counter, amount=amount,
            description=description, external_reference=external_reference,
        )  # fmt: skip


def post_card_capture(account: CreditAccount, *, amount: Decimal, description: str, external_reference: str) -> LedgerTransaction:
    """Post the purchase a card authorization captures, on the account its caller locked.

    The authorization already gave the credit, so neither the account's status nor its available
    credit is checked again (a blocked customer's earlier purchases are still owed, and a capture
    may take the account over its limit); a closed account takes nothing.
    """
    direction, counter = CUSTOMER_POSTINGS[TransactionType.PURCHASE]
    return _post(
        account, type=TransactionType.PURCHASE, direction=direction, counter=counter, amount=amount,
        description=description, external_reference=external_reference,
    )  # fmt: skip


def post_adjustment(
    *, account_id: uuid.UUID, direction: Direction, amount: Decimal, reason: str, created_by
) -> LedgerTransaction:
    """An operator's correction of the balance owed (a fee, a goodwill credit), with the reason. Back office only."""
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, "An adjustment needs a reason.")
    with transaction.atomic():
        account = lock_account(account_id=account_id)
        return _post(
            account, type=TransactionType.ADJUSTMENT, direction=Direction(direction), counter=LedgerAccount.ADJUSTMENTS,
            amount=amount, description="operator adjustment", created_by=created_by, reason=reason.strip(),
        )  # fmt: skip


def reverse_transaction(*, transaction_id: uuid.UUID, reason: str, created_by=None) -> LedgerTransaction:
    """Post the opposite of a transaction (at most once): the correction of a posting that was wrong.

    A reversal is not checked against the available credit (a returned payment is owed again) but
    never takes the balance below zero.
    """
    if not reason.strip():
        raise DomainError(ErrorCode.REASON_REQUIRED, "A reversal needs a reason.")
    with atomic_change():
        original = LedgerTransaction.objects.filter(id=transaction_id).first()
        if original is None:
            raise DomainError(ErrorCode.TRANSACTION_NOT_FOUND)
        account = lock_account(account_id=original.account_id)
        if original.type == TransactionType.REVERSAL:
            raise DomainError(ErrorCode.CANNOT_REVERSE_REVERSAL, "A reversal cannot be reversed; post a new transaction instead.")
        if LedgerTransaction.objects.filter(reverses=original).exists():
            raise DomainError(ErrorCode.ALREADY_REVERSED, "This transaction was already reversed.")
        counter = original.entries.exclude(ledger_account=LedgerAccount.CUSTOMER).values_list("ledger_account", flat=True).get()
        return _post(
            account,
            type=TransactionType.REVERSAL,
            direction=Direction.CREDIT if original.direction == Direction.DEBIT else Direction.DEBIT,
            counter=LedgerAccount(counter),
            amount=original.amount,
            description=f"reversal of {original.type} {original.id}",
            external_reference=original.external_reference,
            reverses=original,
            created_by=created_by,
            reason=reason.strip(),
        )


def _post(
    account: CreditAccount,
    *,
    type: TransactionType,
    direction: Direction,
    counter: LedgerAccount,
    amount: Decimal,
    description: str = "",
    external_reference: str = "",
    reverses: LedgerTransaction | None = None,
    created_by=None,
    reason: str = "",
) -> LedgerTransaction:
    """Book ``amount`` on the locked account against ``counter``; close a closing account it pays off."""
    check_amount(amount)
    if account.status == AccountStatus.CLOSED:
        raise DomainError(ErrorCode.ACCOUNT_CLOSED)
    owed = amount if direction == Direction.DEBIT else -amount
    balance = account.balance + owed
    if balance < 0:
        raise DomainError(
            EXCEEDS_BALANCE[type], f"The {type} ({amount:.2f}) is more than the balance owed ({account.balance:.2f})."
        )
    if balance > MAX_BALANCE:
        raise DomainError(ErrorCode.AMOUNT_TOO_LARGE)
    transaction_id = uuid.uuid4()
    with announced_together():
        apply_posting(account, transaction_id=transaction_id, transaction_type=type, amount=amount, owed=owed)
        posted = LedgerTransaction(
            id=transaction_id,
            account=account,
            type=type,
            direction=direction,
            amount=amount,
            description=description,
            external_reference=external_reference,
            reverses=reverses,
            balance_after=account.balance,
            available_after=account.available,
            created_by=created_by,
            reason=reason,
        )
        lines = [
            LedgerEntry(transaction=posted, ledger_account=LedgerAccount.CUSTOMER, credit_account=account, amount=owed),
            LedgerEntry(transaction=posted, ledger_account=counter, amount=-owed),
        ]
        write_with_announcements([posted], lines)  # in the statement that writes the posting's events
    LedgerTransaction.reversed_by.related.set_cached_value(posted, None)  # known without a query: nothing reverses it yet
    return posted


def check_amount(amount: Decimal) -> None:
    """Money posted is a positive number of cents: whoever calls (the API, the admin, a task) is held to it."""
    if not amount.is_finite() or amount <= 0:
        raise DomainError(ErrorCode.AMOUNT_NOT_POSITIVE)
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(CENT):
        raise DomainError(ErrorCode.AMOUNT_TOO_PRECISE)
    if amount > MAX_BALANCE:
        raise DomainError(ErrorCode.AMOUNT_TOO_LARGE)
