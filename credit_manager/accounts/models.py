"""Credit accounts: one per customer; available = limit − balance owed − held (never below zero)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

if TYPE_CHECKING:
    from common.audit.services import Head

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AccountDecision:
    """A credit decision as the account keeps it: what its events and its summary show.

    Decisions are recorded by the analysis and never change, so this copy cannot drift from the
    record it was taken from; it spares the account (and every event and read of it) a reference
    into the analysis, which builds on accounts, not the other way round.
    """

    id: uuid.UUID
    trigger: str
    outcome: str
    score: int
    reason_codes: list[str]
    policy_version: int
    created_at: datetime
    grants_credit: bool

    def to_json(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies every value, the most of this field's cost on a write.
        return {
            "id": str(self.id), "trigger": self.trigger, "outcome": self.outcome, "score": self.score,
            "reason_codes": list(self.reason_codes), "policy_version": self.policy_version,
            "created_at": self.created_at.isoformat(), "grants_credit": self.grants_credit,
        }  # fmt: skip

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> AccountDecision:
        return cls(**(value | {"id": uuid.UUID(value["id"]), "created_at": parse_datetime(value["created_at"])}))


class AccountDecisionField(models.JSONField):
    """An :class:`AccountDecision` stored as JSON."""

    def from_db_value(self, value, expression, connection):
        value = super().from_db_value(value, expression, connection)
        return None if value is None else AccountDecision.from_json(value)

    def get_prep_value(self, value):
        return super().get_prep_value(value.to_json() if isinstance(value, AccountDecision) else value)


class AccountStatus(models.TextChoices):
    PENDING = "pending", "pending (not analysed yet)"
    ACTIVE = "active", "active"
    FROZEN = "frozen", "frozen (customer blocked: payments only)"
    CLOSING = "closing", "closing (customer closed: closes when paid off)"
    CLOSED = "closed", "closed"
    DENIED = "denied", "denied (no credit granted)"


class CreditAccount(models.Model):
    """The customer's credit line. ``balance`` is a running total of the ledger's lines, ``held`` of the
    pending card authorizations' holds, both kept for speed.

    A hold stops counting the moment it expires, before any sweep releases it: ``holds`` keeps each
    pending hold's amount and expiry, so the credit available now is known from the account alone
    (and from its cached copy).

    ``version`` goes up by one on every change of status, limit, balance or holds; events carry it so
    consumers can tell a newer state from an older one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField(unique=True, help_text="The customer in user_manager.")
    status = models.CharField(max_length=10, choices=AccountStatus.choices, default=AccountStatus.PENDING, db_index=True)
    credit_limit = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO, help_text="Owed by the customer.")
    held = models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO,
        help_text="Reserved by pending card authorizations (an expired one until the sweep releases it).",
    )  # fmt: skip
    holds = models.JSONField(
        default=dict, blank=True, help_text='The pending holds: {authorization id: ["amount", "expires at"]}; held is their sum.'
    )
    currency = models.CharField(max_length=3, default="BRL")
    birth_date = models.DateField(help_text="From user.created; the analysis needs the customer's age.")
    monthly_income = models.DecimalField(max_digits=14, decimal_places=2, help_text="Latest income user_manager reported.")
    current_decision = AccountDecisionField(
        null=True, blank=True, help_text="The decision that set the account's current limit and status."
    )
    last_decision = AccountDecisionField(
        null=True, blank=True, help_text="The account's latest decision, in force or not (a denied limit request, a review)."
    )
    # How operators find and recognise the customer (common.customer_lookup): never the whole tax id or email.
    customer_name = models.CharField(max_length=200, blank=True)
    customer_tax_id_masked = models.CharField(max_length=14, blank=True, verbose_name="tax id (masked)")
    customer_email_masked = models.CharField(max_length=254, blank=True, verbose_name="email (masked)")
    customer_tax_id_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    customer_email_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    version = models.PositiveIntegerField(default=1, help_text="Incremented on every change; orders the account's events.")
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The account as it was when the current change locked it (``accounts.services``): the audit
    # trail's "before". Not a field.
    state_before: dict[str, Any] | None = None
    # Opened by the current transaction: nobody can have cached it yet. Not a field.
    opened_now: bool = False
    # The head of its audit trail, read with the account's lock (``accounts.services``; None: no trail
    # yet). Not a field.
    audit_head: Head | None = None

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="account_limit_not_negative"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_not_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="account_held_not_negative"),
            models.CheckConstraint(condition=Q(monthly_income__gte=0), name="account_income_not_negative"),
        ]

    def __str__(self) -> str:
        # Short enough for a list column; the page and the search have the whole id.
        return f"account of {self.customer_name or str(self.user_id)[:8] + '…'}"

    @property
    def held_in_force(self) -> Decimal:
        """What the holds not yet expired reserve: the ``held`` that counts against the limit now."""
        if not self.holds:
            return ZERO
        now = timezone.now()
        return sum((Decimal(amount) for amount, expires_at in self.holds.values() if parse_datetime(expires_at) > now), ZERO)

    @property
    def next_hold_expiry(self) -> datetime | None:
        """When the next hold in force expires (None: none is): what the account shows changes then, unwritten."""
        now = timezone.now()
        in_force = (expiry for _, expires_at in self.holds.values() if (expiry := parse_datetime(expires_at)) > now)
        return min(in_force, default=None)

    @property
    def available(self) -> Decimal:
        return max(self.credit_limit - self.balance - self.held_in_force, ZERO)

    @property
    def settled(self) -> bool:
        """Nothing owed and nothing held: what a closing account waits for to close."""
        return self.balance == 0 and self.held == 0

    @property
    def over_limit(self) -> bool:
        """Owed and held beyond the limit: after a forced or late card capture, or a limit lowered below them."""
        return self.balance + self.held_in_force > self.credit_limit
