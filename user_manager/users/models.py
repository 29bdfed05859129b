"""Customers: the root of the business. Closing is a soft delete; the record and its history stay."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models.functions import Lower


class CustomerStatus(models.TextChoices):
    ACTIVE = "active"
    BLOCKED = "blocked"
    CLOSED = "closed"


class Customer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    full_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    tax_id = models.CharField(max_length=11, unique=True, help_text="CPF, 11 digits, check digits validated.")
    birth_date = models.DateField()
    monthly_income = models.DecimalField(max_digits=14, decimal_places=2)
    phone = models.CharField(max_length=16, blank=True, help_text="E.164, e.g. +5511987654321.")
    status = models.CharField(max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE, db_index=True)
    version = models.PositiveIntegerField(default=1, help_text="Incremented on every change (optimistic concurrency).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The customer as it was when the current change locked it (``users.services``): the audit trail's
    # "before". Not a field.
    state_before: dict[str, Any] | None = None

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(monthly_income__gte=0), name="customer_income_not_negative"),
        ]
        permissions = [("view_full_tax_id", "Can see a customer's whole tax id (CPF) in the back office")]

    def __str__(self) -> str:
        return self.full_name
