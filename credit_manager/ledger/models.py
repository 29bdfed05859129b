"""The ledger: immutable double-entry lines. Rows are only ever inserted (a database trigger refuses
UPDATE and DELETE); a mistake is corrected by posting a reversal.

Sign convention: a line on the customer's account (``customer_receivable``) is positive when the
customer owes more; every transaction's lines sum to zero against a counter account, so the
customer's lines sum to the account's balance and all lines together sum to zero.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class TransactionType(models.TextChoices):
    PURCHASE = "purchase"
    PAYMENT = "payment"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"


class Direction(models.TextChoices):
    DEBIT = "debit", "debit (the customer owes more)"
    CREDIT = "credit", "credit (the customer owes less)"


class LedgerAccount(models.TextChoices):
    """Where a line is booked: the customer's account, or the counter account of the transaction."""

    CUSTOMER = "customer_receivable", "customer receivable"
    MERCHANT_SETTLEMENT = "merchant_settlement", "merchant settlement (purchases and refunds)"
    CASH = "cash", "cash (payments)"
    ADJUSTMENTS = "adjustments", "operator adjustments"


class LedgerTransaction(models.Model):
    """One posting on a customer's account, with the account's balance and available amount after it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Not indexed alone: ledger_tx_account_time_idx starts with it (one index less to write per posting).
    account = models.ForeignKey("accounts.CreditAccount", on_delete=models.PROTECT, related_name="transactions", db_index=False)
    type = models.CharField(max_length=10, choices=TransactionType.choices)
    direction = models.CharField(max_length=6, choices=Direction.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    description = models.CharField(max_length=200, blank=True)
    external_reference = models.CharField(max_length=100, blank=True)  # indexed by ledger_tx_reference_idx
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by",
        help_text="The transaction this one reverses (each is reversed at most once).",
    )  # fmt: skip
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    available_after = models.DecimalField(max_digits=14, decimal_places=2)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The operator who posted it (adjustments and reversals from the back office).",
    )  # fmt: skip
    reason = models.CharField(max_length=500, blank=True, help_text="Why an operator adjusted or reversed.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="ledger_tx_account_time_idx"),
            # For exact lookups only: db_index would add a second index for LIKE 'prefix%', never asked.
            models.Index(fields=["external_reference"], name="ledger_tx_reference_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_tx_amount_positive"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_tx_balance_not_negative"),
            models.CheckConstraint(
                condition=(Q(type=TransactionType.REVERSAL) & Q(reverses__isnull=False))
                | (~Q(type=TransactionType.REVERSAL) & Q(reverses__isnull=True)),
                name="ledger_tx_reversal_names_original",
            ),
        ]
        permissions = [
            ("post_adjustment", "Can post operator adjustments"),
            ("reverse_transaction", "Can reverse posted transactions"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.amount} on {self.account_id}"


class LedgerEntry(models.Model):
    """One line of a transaction: an amount booked on a ledger account (signed; see the module docstring)."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    ledger_account = models.CharField(max_length=30, choices=LedgerAccount.choices)
    credit_account = models.ForeignKey(
        "accounts.CreditAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries",
        help_text="Set on the customer's lines only.",
    )  # fmt: skip
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_amount_not_zero"),
            models.CheckConstraint(
                condition=(Q(ledger_account=LedgerAccount.CUSTOMER) & Q(credit_account__isnull=False))
                | (~Q(ledger_account=LedgerAccount.CUSTOMER) & Q(credit_account__isnull=True)),
                name="ledger_entry_customer_line_names_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ledger_account} {self.amount:+}"
