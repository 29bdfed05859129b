"""Reads of the ledger: an account's transactions, its payment history, and the ledger's own check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import CreditAccount
from common.errors import DomainError, ErrorCode
from ledger.models import LedgerEntry, LedgerTransaction, TransactionType

ZERO = Decimal("0.00")


def transaction_get(*, transaction_id: uuid.UUID) -> LedgerTransaction:
    transaction = LedgerTransaction.objects.select_related("reversed_by").filter(id=transaction_id).first()
    if transaction is None:
        raise DomainError(ErrorCode.TRANSACTION_NOT_FOUND)
    return transaction


def transaction_list(*, account_id: uuid.UUID) -> QuerySet[LedgerTransaction]:
    """The account's transactions, newest first (404 for an unknown account, not an empty page)."""
    if not CreditAccount.objects.filter(id=account_id).exists():
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND)
    return LedgerTransaction.objects.filter(account_id=account_id).select_related("reversed_by").order_by("-created_at", "-id")


@dataclass(frozen=True)
class PaymentRecord:
    has_transactions: bool
    due_periods: int  # periods that began with a balance owed
    paid_periods: int  # of those, the ones in which a payment was posted


def payment_record(*, account_id: uuid.UUID, periods: int, period_days: int, now: datetime) -> PaymentRecord:
    """How regularly the customer paid over the last ``periods`` periods of ``period_days`` days.

    A period counts as due when the balance owed at its start was above zero, and as paid when a
    payment (not reversed) was posted within it.
    """
    transactions = LedgerTransaction.objects.filter(account_id=account_id)
    if not transactions.exists():
        return PaymentRecord(has_transactions=False, due_periods=0, paid_periods=0)
    due = paid = 0
    for index in range(periods):
        end = now - timedelta(days=period_days * index)
        start = end - timedelta(days=period_days)
        opening = (
            transactions.filter(created_at__lt=start)
            .order_by("-created_at", "-id")
            .values_list("balance_after", flat=True)
            .first()
        )
        if not opening:
            continue
        due += 1
        payments = transactions.filter(
            type=TransactionType.PAYMENT, created_at__gte=start, created_at__lt=end, reversed_by__isnull=True
        )
        paid += payments.exists()
    return PaymentRecord(has_transactions=True, due_periods=due, paid_periods=paid)


@dataclass(frozen=True)
class Mismatch:
    account_id: uuid.UUID
    balance: Decimal
    lines: Decimal


@dataclass(frozen=True)
class LedgerCheck:
    accounts: int
    transactions: int
    total: Decimal  # all lines together: zero in a sound ledger
    mismatches: list[Mismatch] = field(default_factory=list)
    unbalanced_transactions: list[uuid.UUID] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.unbalanced_transactions and self.total == 0


def check_ledger() -> LedgerCheck:
    """Compare every account's running balance with the sum of its lines, and check the lines balance."""
    money = DecimalField(max_digits=16, decimal_places=2)
    lines = (
        LedgerEntry.objects.filter(credit_account=OuterRef("pk"))
        .order_by()
        .values("credit_account")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    accounts = CreditAccount.objects.annotate(
        lines=Coalesce(Subquery(lines, output_field=money), Value(ZERO), output_field=money)
    )
    mismatches = [
        Mismatch(account_id=a.id, balance=a.balance, lines=a.lines)
        for a in accounts.exclude(balance=F("lines")).order_by("id").only("id", "balance")
    ]
    unbalanced = list(
        LedgerEntry.objects.order_by()
        .values("transaction")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .values_list("transaction", flat=True)
    )
    total = LedgerEntry.objects.aggregate(total=Coalesce(Sum("amount"), Value(ZERO), output_field=money))["total"]
    return LedgerCheck(
        accounts=CreditAccount.objects.count(),
        transactions=LedgerTransaction.objects.count(),
        total=total,
        mismatches=mismatches,
        unbalanced_transactions=unbalanced,
    )
