"""The credit policy evaluated: pure functions of a policy version and an applicant, no database.

Everything a decision needs to be explained comes out of :func:`evaluate`: the score, the points of
each factor, the reason codes and the limit, so a decision can be recorded and shown as it was taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any

from analysis.models import CreditPolicy, Outcome

MAX_SCORE = 1000
LEGAL_AGE = 18
ZERO = Decimal("0.00")


class Reason(StrEnum):
    # Hard rules: any of these denies.
    AGE_UNDER_18 = "AGE_UNDER_18"
    AGE_BELOW_MINIMUM = "AGE_BELOW_MINIMUM"  # of age, but younger than the policy's minimum
    INCOME_TOO_LOW = "INCOME_TOO_LOW"  # no income, below the policy's minimum, or too low for the smallest limit
    SCORE_BELOW_MINIMUM = "SCORE_BELOW_MINIMUM"
    # Factors that cost points.
    LOW_INCOME = "LOW_INCOME"
    YOUNG_APPLICANT = "YOUNG_APPLICANT"
    NO_CREDIT_HISTORY = "NO_CREDIT_HISTORY"
    LATE_PAYMENTS = "LATE_PAYMENTS"
    HIGH_UTILISATION = "HIGH_UTILISATION"
    # The limit.
    LIMIT_CAPPED = "LIMIT_CAPPED"
    # Limit requests.
    LIMIT_DECREASE = "LIMIT_DECREASE"
    MANUAL_REVIEW_REQUIRED = "MANUAL_REVIEW_REQUIRED"
    LIMIT_ABOVE_POLICY = "LIMIT_ABOVE_POLICY"
    ACCOUNT_NOT_ACTIVE = "ACCOUNT_NOT_ACTIVE"
    APPROVED_BY_OPERATOR = "APPROVED_BY_OPERATOR"
    DENIED_BY_OPERATOR = "DENIED_BY_OPERATOR"


@dataclass(frozen=True)
class History:
    """What the account's ledger says about the customer."""

    utilisation: Decimal  # balance owed / limit (1 or more when owing with no limit)
    due_periods: int  # recent periods that began with a balance owed
    paid_periods: int  # of those, the periods in which a payment was posted


@dataclass(frozen=True)
class Applicant:
    age: int
    monthly_income: Decimal
    history: History | None  # None: the account has no transactions yet


@dataclass(frozen=True)
class Evaluation:
    outcome: Outcome  # approved or denied
    score: int
    limit: Decimal
    reason_codes: list[str]
    breakdown: dict[str, Any]


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def evaluate(policy: CreditPolicy, applicant: Applicant) -> Evaluation:
    """Score the applicant under ``policy`` and decide: approve with a limit, or deny, with the reasons."""
    income_band, income_points = _band(
        applicant.monthly_income,
        [policy.income_band_2_from, policy.income_band_3_from, policy.income_band_4_from],
        [policy.income_band_1_points, policy.income_band_2_points, policy.income_band_3_points, policy.income_band_4_points],
    )
    age_band, age_points = _band(
        applicant.age,
        [policy.age_band_2_from, policy.age_band_3_from, policy.age_band_4_from],
        [policy.age_band_1_points, policy.age_band_2_points, policy.age_band_3_points, policy.age_band_4_points],
    )
    history_points, history_breakdown, history_reasons = _history(policy, applicant.history)
    score = min(income_points + age_points + history_points, MAX_SCORE)

    denials = _hard_rules(policy, applicant, score)
    adverse = [Reason.LOW_INCOME] if income_band == 1 and applicant.monthly_income > 0 else []
    adverse += [Reason.YOUNG_APPLICANT] if age_band == 1 and applicant.age >= LEGAL_AGE else []
    adverse += history_reasons
    limit, limit_breakdown = (ZERO, None) if denials else _limit(policy, applicant.monthly_income, score)
    if not denials and limit == 0:
        denials.append(Reason.INCOME_TOO_LOW)
    if limit_breakdown and limit_breakdown["capped"]:
        adverse.append(Reason.LIMIT_CAPPED)

    return Evaluation(
        outcome=Outcome.DENIED if denials else Outcome.APPROVED,
        score=score,
        limit=limit,
        reason_codes=[str(reason) for reason in [*denials, *adverse]],
        breakdown={
            "policy_version": policy.version,
            "income": {"monthly_income": _text(applicant.monthly_income), "band": income_band, "points": income_points},
            "age": {"age": applicant.age, "band": age_band, "points": age_points},
            "history": {"points": history_points, **history_breakdown},
            "score": score,
            "min_score": policy.min_score,
            "limit": limit_breakdown,
        },
    )


def limit_request_outcome(
    policy: CreditPolicy, evaluation: Evaluation, *, requested: Decimal, current_limit: Decimal, account_active: bool
) -> tuple[Outcome, list[str]]:
    """A limit request: approved up to what the policy grants, to an operator up to ``manual_review_factor``
    times that, denied above. Asking for no more than the current limit is always approved."""
    if not account_active:
        return Outcome.DENIED, [Reason.ACCOUNT_NOT_ACTIVE]
    if requested <= current_limit:
        return Outcome.APPROVED, [Reason.LIMIT_DECREASE]
    if evaluation.outcome == Outcome.DENIED:
        return Outcome.DENIED, evaluation.reason_codes
    if requested <= evaluation.limit:
        return Outcome.APPROVED, evaluation.reason_codes
    if requested <= evaluation.limit * policy.manual_review_factor:
        return Outcome.MANUAL_REVIEW, [*evaluation.reason_codes, Reason.MANUAL_REVIEW_REQUIRED]
    return Outcome.DENIED, [*evaluation.reason_codes, Reason.LIMIT_ABOVE_POLICY]


def policy_errors(policy: CreditPolicy) -> list[str]:
    """What makes a policy inconsistent (bands out of order, a score that could pass 1000, ...); empty if none."""
    errors = []
    if not policy.income_band_2_from < policy.income_band_3_from < policy.income_band_4_from:
        errors.append("income bands must start at increasing incomes")
    if not policy.age_band_2_from < policy.age_band_3_from < policy.age_band_4_from:
        errors.append("age bands must start at increasing ages")
    if policy.min_age < LEGAL_AGE:
        errors.append(f"the minimum age cannot be below {LEGAL_AGE}")
    if not policy.low_utilisation_below < policy.high_utilisation_from:
        errors.append("the low utilisation mark must be below the high one")
    if not policy.min_score <= policy.multiplier_2_from_score < policy.multiplier_3_from_score:
        errors.append("multiplier scores must increase from the minimum score")
    if not 0 < policy.multiplier <= policy.multiplier_2 <= policy.multiplier_3:
        errors.append("multipliers must be positive and must not decrease as the score grows")
    if policy.limit_cap <= 0 or policy.limit_step <= 0:
        errors.append("the limit cap and step must be positive")
    if policy.manual_review_factor < 1:
        errors.append("the manual review factor must be at least 1")
    best = (
        max(policy.income_band_1_points, policy.income_band_2_points, policy.income_band_3_points, policy.income_band_4_points)
        + max(policy.age_band_1_points, policy.age_band_2_points, policy.age_band_3_points, policy.age_band_4_points)
        + max(
            policy.no_history_points, policy.on_time_points + max(policy.low_utilisation_points, policy.medium_utilisation_points)
        )
    )
    if best > MAX_SCORE:
        errors.append(f"the best possible score is {best}; points must add up to at most {MAX_SCORE}")
    return errors


@dataclass(frozen=True)
class Factor:
    """One line of a decision's explanation: what was looked at, what it was, where it fell, what it gave."""

    factor: str
    value: str
    band: str
    points: str
    reason_codes: list[str]


# Which reason codes each factor of the score (or each rule) gives.
FACTOR_REASONS = {
    "income": {Reason.LOW_INCOME, Reason.INCOME_TOO_LOW},
    "age": {Reason.YOUNG_APPLICANT, Reason.AGE_UNDER_18, Reason.AGE_BELOW_MINIMUM},
    "history": {Reason.NO_CREDIT_HISTORY},
    "payments on time": {Reason.LATE_PAYMENTS},
    "utilisation": {Reason.HIGH_UTILISATION},
    "score": {Reason.SCORE_BELOW_MINIMUM},
    "limit": {Reason.LIMIT_CAPPED},
}


def explain(breakdown: dict[str, Any], reason_codes: list[str]) -> list[Factor]:
    """A decision's breakdown as the lines an operator reads: each factor with its reason codes.

    Reason codes no factor gives (an operator's decision, a limit request's outcome) come last.
    """
    income, age, history = breakdown.get("income", {}), breakdown.get("age", {}), breakdown.get("history", {})
    lines = [
        ("income", income.get("monthly_income", ""), income.get("band", ""), income.get("points", "")),
        ("age", age.get("age", ""), age.get("band", ""), age.get("points", "")),
    ]
    if history.get("has_history"):
        on_time, utilisation = history["payments_on_time"], history["utilisation"]
        lines += [
            ("payments on time", f"{on_time['paid_periods']} of {on_time['due_periods']} periods", "", on_time["points"]),
            ("utilisation", utilisation["ratio"], "", utilisation["points"]),
        ]
    else:
        lines.append(("history", "no transactions yet", "", history.get("points", "")))
    lines.append(("score", breakdown.get("score", ""), f"minimum {breakdown.get('min_score', '')}", ""))
    limit = breakdown.get("limit")
    if limit:
        computed = f"income × {limit['multiplier']} = {limit['income_times_multiplier']}, cap {limit['cap']}, step {limit['step']}"
        lines.append(("limit", limit["limit"], computed, ""))
    explained = set()
    factors = []
    for name, value, band, points in lines:
        codes = [code for code in reason_codes if code in FACTOR_REASONS.get(name, set())]
        explained.update(codes)
        factors.append(Factor(name, str(value), str(band), str(points), codes))
    rest = [code for code in reason_codes if code not in explained]
    if rest:
        factors.append(Factor("decision", "", "", "", rest))
    return factors


def _band(value: Decimal | int, starts: list, points: list[int]) -> tuple[int, int]:
    """The band (1-based) ``value`` falls in, given where bands 2, 3, ... start, and the band's points."""
    index = sum(1 for start in starts if value >= start)
    return index + 1, points[index]


def _history(policy: CreditPolicy, history: History | None) -> tuple[int, dict[str, Any], list[Reason]]:
    if history is None:
        return policy.no_history_points, {"has_history": False}, [Reason.NO_CREDIT_HISTORY]
    reasons = []
    # No period began with a balance owed: nothing was due, so nothing was late.
    on_time = Decimal(history.paid_periods) / history.due_periods if history.due_periods else Decimal(1)
    on_time_points = int(policy.on_time_points * on_time)
    if on_time < 1:
        reasons.append(Reason.LATE_PAYMENTS)
    if history.utilisation < policy.low_utilisation_below:
        utilisation_points = policy.low_utilisation_points
    elif history.utilisation < policy.high_utilisation_from:
        utilisation_points = policy.medium_utilisation_points
    else:
        utilisation_points = 0
        reasons.append(Reason.HIGH_UTILISATION)
    breakdown = {
        "has_history": True,
        "payments_on_time": {"due_periods": history.due_periods, "paid_periods": history.paid_periods, "points": on_time_points},
        "utilisation": {"ratio": _text(history.utilisation), "points": utilisation_points},
    }
    return on_time_points + utilisation_points, breakdown, reasons


def _hard_rules(policy: CreditPolicy, applicant: Applicant, score: int) -> list[Reason]:
    denials = []
    if applicant.age < LEGAL_AGE:
        denials.append(Reason.AGE_UNDER_18)
    elif applicant.age < policy.min_age:
        denials.append(Reason.AGE_BELOW_MINIMUM)
    if applicant.monthly_income <= 0 or applicant.monthly_income < policy.min_monthly_income:
        denials.append(Reason.INCOME_TOO_LOW)
    if score < policy.min_score:
        denials.append(Reason.SCORE_BELOW_MINIMUM)
    return denials


def _limit(policy: CreditPolicy, monthly_income: Decimal, score: int) -> tuple[Decimal, dict[str, Any]]:
    """Income × the multiplier of the score's tier, capped, rounded down to the policy's step."""
    if score >= policy.multiplier_3_from_score:
        multiplier = policy.multiplier_3
    elif score >= policy.multiplier_2_from_score:
        multiplier = policy.multiplier_2
    else:
        multiplier = policy.multiplier
    uncapped = monthly_income * multiplier
    capped = min(uncapped, policy.limit_cap)
    limit = ((capped / policy.limit_step).to_integral_value(rounding=ROUND_DOWN) * policy.limit_step).quantize(ZERO)
    breakdown = {
        "multiplier": _text(multiplier),
        "income_times_multiplier": _text(uncapped),
        "cap": _text(policy.limit_cap),
        "capped": uncapped > policy.limit_cap,
        "step": _text(policy.limit_step),
        "limit": _text(limit),
    }
    return limit, breakdown


def _text(value: Decimal) -> str:
    return f"{value:.2f}"
