"""Card authorizations: credit held for a purchase in flight, then captured, reversed or expired.

The card network asks first (an authorization: credit is reserved, nothing is owed yet) and clears
later (a capture: the purchase is posted to the ledger). While an authorization is ``pending`` its
``held_amount`` counts in the account's ``held``; every other status is final. Every change is
recorded in the authorization's history (:class:`AuthorizationEvent`).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from accounts.models import ZERO

MCC_PATTERN = r"^[0-9]{4}$"
CENT = Decimal("0.01")


class HoldRule(models.Model):
    """How long an authorization holds credit, and how far its captures may exceed it, for one merchant
    category (MCC), or for every category without a rule of its own (blank MCC).

    Rules are never changed: an edit is saved as the next version of the category's rule, the newest
    version is in force, and every authorization keeps the version it was given.
    """

    mcc = models.CharField(
        max_length=4, blank=True, validators=[RegexValidator(MCC_PATTERN, "Four digits.")],
        help_text="Merchant category code (ISO 18245); blank: the default for every category without a rule.",
    )  # fmt: skip
    version = models.PositiveIntegerField(editable=False)
    category = models.CharField(max_length=100, blank=True, help_text="What the MCC is, for operators (e.g. hotels).")
    expiry_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="A hold expires this long after the request.",
    )
    capture_tolerance_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=ZERO, validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Captures may exceed the authorized amount by this much (a tip, a fuel top-up) without being forced.",
    )  # fmt: skip
    note = models.CharField(max_length=500, blank=True, help_text="What changed and why.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["mcc", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["mcc", "version"], name="hold_rule_version_unique_per_mcc"),
            models.CheckConstraint(condition=Q(expiry_days__gte=1), name="hold_rule_expiry_positive"),
            models.CheckConstraint(
                condition=Q(capture_tolerance_percent__gte=0, capture_tolerance_percent__lte=100),
                name="hold_rule_tolerance_0_to_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mcc or 'default'} v{self.version}: {self.expiry_days} days, +{self.capture_tolerance_percent}%"

    @property
    def expiry(self) -> timedelta:
        return timedelta(days=self.expiry_days)

    def capture_ceiling(self, authorized: Decimal) -> Decimal:
        """The most all captures of an authorization of ``authorized`` may add up to without being forced."""
        return (authorized * (1 + self.capture_tolerance_percent / 100)).quantize(CENT, rounding=ROUND_DOWN)


class AuthorizationStatus(models.TextChoices):
    PENDING = "pending", "pending (credit held)"
    CLOSED = "closed", "closed (captured)"
    REVERSED = "reversed", "reversed (released)"
    EXPIRED = "expired", "expired (released at its expiry)"
    DECLINED = "declined", "declined"


class Authorization(models.Model):
    """One card authorization on an account: what was asked, what it holds, what was captured or released.

    ``amount`` is what is authorized: the request, plus its approved increments, less its reversals
    (for a declined one, what was asked). A capture may post more than was held (within the rule's tolerance, or forced),
    so ``captured_amount`` is not bounded by ``amount``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.CreditAccount", on_delete=models.PROTECT, related_name="authorizations")
    network_reference = models.CharField(max_length=100, help_text="The card network's id of the request; unique per account.")
    status = models.CharField(max_length=10, choices=AuthorizationStatus.choices, db_index=True)
    decline_reason = models.CharField(max_length=40, blank=True, help_text="Why the request was declined (an error code).")
    requested_amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="What the first request asked for.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    held_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO, help_text="Still reserved.")
    captured_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO, help_text="Posted as purchases.")
    released_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=ZERO,
        help_text="Released uncaptured (reversals, a final capture's rest, expiry).",
    )
    merchant_name = models.CharField(max_length=100)
    merchant_mcc = models.CharField(max_length=4, db_index=True, verbose_name="MCC")
    merchant_country = models.CharField(max_length=2, blank=True)
    hold_rule = models.ForeignKey(HoldRule, on_delete=models.PROTECT, related_name="authorizations")
    expires_at = models.DateTimeField()
    over_limit = models.BooleanField(default=False, help_text="A capture took the account over its limit.")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="authz_account_time_idx"),
            models.Index(fields=["expires_at"], condition=Q(status="pending"), name="authz_pending_expiry_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account", "network_reference"], name="authorization_network_reference_unique"),
            models.CheckConstraint(
                condition=Q(
                    requested_amount__gte=0, amount__gte=0, held_amount__gte=0, captured_amount__gte=0, released_amount__gte=0
                ),
                name="authorization_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", held_amount__gt=0) | (~Q(status="pending") & Q(held_amount=0)),
                name="authorization_holds_only_while_pending",
            ),
        ]
        permissions = [("reverse_authorization", "Can reverse card authorizations")]

    def __str__(self) -> str:
        return f"{self.status} {self.amount} at {self.merchant_name}"

    @property
    def is_final(self) -> bool:
        return self.status != AuthorizationStatus.PENDING


class AuthorizationEventKind(models.TextChoices):
    REQUEST = "request"
    INCREMENT = "increment"
    CAPTURE = "capture"
    REVERSAL = "reversal"
    EXPIRY = "expiry"


class AuthorizationEvent(models.Model):
    """One step of an authorization's history, with the account as it stood after it. Only ever inserted."""

    authorization = models.ForeignKey(Authorization, on_delete=models.PROTECT, related_name="history")
    kind = models.CharField(max_length=10, choices=AuthorizationEventKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Asked, captured or released.")
    decline_reason = models.CharField(max_length=40, blank=True, help_text="Set when a request or increment was declined.")
    final = models.BooleanField(default=False, help_text="A capture that released the rest of the hold.")
    forced = models.BooleanField(default=False, help_text="A capture the network forced past the authorization.")
    over_limit = models.BooleanField(default=False, help_text="A capture that left the account over its limit.")
    transaction = models.OneToOneField(
        "ledger.LedgerTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="card_capture",
        help_text="The purchase a capture posted.",
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The operator who reversed it from the back office.",
    )  # fmt: skip
    reason = models.CharField(max_length=500, blank=True, help_text="Why the operator reversed it.")
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    held_after = models.DecimalField(max_digits=14, decimal_places=2)
    available_after = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["authorization", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="authorization_event_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(kind="capture", transaction__isnull=False) | (~Q(kind="capture") & Q(transaction__isnull=True)),
                name="authorization_event_capture_names_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"

    @property
    def outcome(self) -> str:
        return "declined" if self.decline_reason else "approved"
