"""Credit accounts: one per customer; available = limit − balance owed (never below zero)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q

ZERO = Decimal("0.00")


class AccountStatus(models.TextChoices):
    PENDING = "pending", "pending (not analysed yet)"
    ACTIVE = "active", "active"
    FROZEN = "frozen", "frozen (customer blocked: payments only)"
    CLOSING = "closing", "closing (customer closed: closes when paid off)"
    CLOSED = "closed", "closed"
    DENIED = "denied", "denied (no credit granted)"


class CreditAccount(models.Model):
    """The customer's credit line. ``balance`` is a running total of the ledger's lines, kept for speed.

    ``version`` goes up by one on every change of status, limit or balance; events carry it so
    consumers can tell a newer state from an older one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField(unique=True, help_text="The customer in user_manager.")
    status = models.CharField(max_length=10, choices=AccountStatus.choices, default=AccountStatus.PENDING, db_index=True)
    credit_limit = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO, help_text="Owed by the customer.")
    currency = models.CharField(max_length=3, default="BRL")
    birth_date = models.DateField(help_text="From user.created; the analysis needs the customer's age.")
    monthly_income = models.DecimalField(max_digits=14, decimal_places=2, help_text="Latest income user_manager reported.")
    current_decision = models.ForeignKey(
        "analysis.CreditDecision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The decision that set the account's current limit and status.",
    )
    last_decision = models.ForeignKey(
        "analysis.CreditDecision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The account's latest decision, in force or not (a denied limit request, a review).",
    )
    version = models.PositiveIntegerField(default=1, help_text="Incremented on every change; orders the account's events.")
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="account_limit_not_negative"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_not_negative"),
            models.CheckConstraint(condition=Q(monthly_income__gte=0), name="account_income_not_negative"),
        ]

    def __str__(self) -> str:
        return f"account of {self.user_id}"

    @property
    def available(self) -> Decimal:
        return max(self.credit_limit - self.balance, ZERO)
