"""Credit accounts: one per customer; available = limit − balance owed."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models


class AccountStatus(models.TextChoices):
    PENDING = "pending"
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"
    DENIED = "denied"


class CreditAccount(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField(unique=True, help_text="The customer in user_manager.")
    status = models.CharField(max_length=10, choices=AccountStatus.choices, default=AccountStatus.PENDING, db_index=True)
    credit_limit = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"), help_text="Owed by the customer.")
    currency = models.CharField(max_length=3, default="BRL")
    version = models.PositiveIntegerField(default=1, help_text="Incremented on every change; orders the account's events.")
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(credit_limit__gte=0), name="account_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return f"account of {self.user_id}"

    @property
    def available(self) -> Decimal:
        return max(self.credit_limit - self.balance, Decimal("0.00"))
