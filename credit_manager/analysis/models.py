"""Credit analysis as data: versioned policies, the decisions taken under them, and limit requests."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import AccountDecision


def _money(default: str, help_text: str = "") -> models.DecimalField:
    return models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal(default), validators=[MinValueValidator(0)], help_text=help_text
    )


def _points(default: int, help_text: str = "") -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(default=default, validators=[MaxValueValidator(1000)], help_text=help_text)


def _ratio(default: str, help_text: str = "") -> models.DecimalField:
    return models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal(default), validators=[MinValueValidator(0)], help_text=help_text
    )


class CreditPolicy(models.Model):
    """One version of the credit policy. Rows are never changed: an edit is saved as the next version,
    the newest version is in force, and every decision keeps the version it used.

    The field defaults are the default policy (version 1, created by a data migration).
    Score = income points + age points + history points, at most 1000.
    """

    version = models.PositiveIntegerField(unique=True, editable=False)
    note = models.CharField(max_length=500, blank=True, help_text="What changed and why.")
    # Hard rules.
    min_age = models.PositiveSmallIntegerField(
        default=18, validators=[MinValueValidator(18)], help_text="Below this age: denied."
    )
    min_monthly_income = _money("0.00", "Income must be above zero and at least this; below: denied.")
    min_score = _points(500, "Approved at or above this score.")
    # Income bands (monthly income, lower bounds of bands 2, 3 and 4) and their points.
    income_band_2_from = _money("2000.00", "Band 1 is below this income.")
    income_band_3_from = _money("5000.00")
    income_band_4_from = _money("10000.00")
    income_band_1_points = _points(100)
    income_band_2_points = _points(250)
    income_band_3_points = _points(350)
    income_band_4_points = _points(400)
    # Age bands (age in years, lower bounds of bands 2, 3 and 4) and their points.
    age_band_2_from = models.PositiveSmallIntegerField(default=25, help_text="Band 1 is below this age.")
    age_band_3_from = models.PositiveSmallIntegerField(default=35)
    age_band_4_from = models.PositiveSmallIntegerField(default=65)
    age_band_1_points = _points(150)
    age_band_2_points = _points(250)
    age_band_3_points = _points(300)
    age_band_4_points = _points(200)
    # Account history: payments on time and utilisation.
    no_history_points = _points(150, "History points of an account with no transactions yet.")
    on_time_points = _points(150, "Earned in proportion to the periods with a balance owed in which a payment came.")
    low_utilisation_points = _points(150, "Utilisation below the low mark.")
    medium_utilisation_points = _points(75, "Utilisation from the low mark to below the high mark; none at or above it.")
    low_utilisation_below = _ratio("0.30", "Balance / limit.")
    high_utilisation_from = _ratio("0.70", "Balance / limit.")
    history_periods = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(24)])
    history_period_days = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(366)])
    # Limit = monthly income × multiplier (by score), capped, rounded down to the step.
    multiplier = _ratio("1.00", "From the minimum score.")
    multiplier_2_from_score = _points(650)
    multiplier_2 = _ratio("1.50")
    multiplier_3_from_score = _points(800)
    multiplier_3 = _ratio("2.00")
    limit_cap = _money("20000.00", "The most any analysis grants.")
    limit_step = _money("50.00", "Limits are rounded down to a multiple of this.")
    # Limit requests above what the policy grants, up to granted × this factor, go to an operator.
    manual_review_factor = _ratio("1.50")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "credit policies"
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"policy v{self.version}"


class Trigger(models.TextChoices):
    ONBOARDING = "onboarding"
    INCOME_CHANGE = "income_change"
    LIMIT_REQUEST = "limit_request"


class Outcome(models.TextChoices):
    APPROVED = "approved"
    DENIED = "denied"
    MANUAL_REVIEW = "manual_review"


class CreditDecision(models.Model):
    """One analysis and what it decided, explained: score, points per factor, reason codes, policy version.

    Decisions by an operator (manual reviews) carry ``decided_by`` and ``note``, and the score of the
    analysis they reviewed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.CreditAccount", on_delete=models.PROTECT, related_name="decisions")
    policy = models.ForeignKey(CreditPolicy, on_delete=models.PROTECT, related_name="decisions")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(1000)])
    breakdown = models.JSONField(help_text="Inputs and points per factor, and how the limit was computed.")
    reason_codes = models.JSONField(default=list)
    granted_limit = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="The limit this decision set; empty if it set none."
    )
    limit_request = models.ForeignKey("LimitRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="decisions")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500, blank=True, help_text="The operator's reason.")
    # Set when the decision is made, not when written: its events carry it before the row is written.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="decision_account_time_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=1000), name="decision_score_at_most_1000"),
            models.CheckConstraint(condition=Q(granted_limit__gte=0), name="decision_granted_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.trigger} {self.outcome} ({self.score}) under policy v{self.policy.version}"

    @property
    def grants_credit(self) -> bool:
        return self.outcome != Outcome.DENIED

    def as_account_decision(self) -> AccountDecision:
        """The decision as its account keeps it (see :class:`accounts.models.AccountDecision`)."""
        return AccountDecision(
            id=self.id,
            trigger=self.trigger,
            outcome=self.outcome,
            score=self.score,
            reason_codes=[str(code) for code in self.reason_codes],
            policy_version=self.policy.version,
            created_at=self.created_at,
            grants_credit=self.grants_credit,
        )


class LimitRequestStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    MANUAL_REVIEW = "manual_review"


OPEN_REQUEST_STATUSES = (LimitRequestStatus.PENDING, LimitRequestStatus.MANUAL_REVIEW)


class LimitRequest(models.Model):
    """A customer's request for a new limit: analysed asynchronously, some decided by an operator."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.CreditAccount", on_delete=models.PROTECT, related_name="limit_requests")
    requested_limit = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(
        max_length=20, choices=LimitRequestStatus.choices, default=LimitRequestStatus.PENDING, db_index=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The operator who decided a manual review.",
    )  # fmt: skip
    review_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(requested_limit__gt=0), name="limit_request_positive"),
            models.UniqueConstraint(
                fields=["account"], condition=Q(status__in=OPEN_REQUEST_STATUSES), name="one_open_limit_request_per_account"
            ),
        ]
        permissions = [("review_limitrequest", "Can decide limit requests in manual review")]

    def __str__(self) -> str:
        return f"limit {self.requested_limit} for {self.account_id} ({self.status})"
