"""The default policy, evaluated as a pure function: every decision path and every reason code."""

from decimal import Decimal

import pytest

from analysis.models import CreditPolicy, Outcome
from analysis.policy import Applicant, History, age_on, evaluate, limit_request_outcome, policy_errors

POLICY = CreditPolicy(version=1)  # the field defaults are the default policy
CLEAN_HISTORY = History(utilisation=Decimal("0.10"), due_periods=3, paid_periods=3)


def applicant(*, age: int = 40, income: str = "8000.00", history: History | None = None) -> Applicant:
    return Applicant(age=age, monthly_income=Decimal(income), history=history)


class TestApproval:
    def test_an_adult_with_a_good_income_is_approved_with_income_times_the_top_multiplier(self):
        evaluation = evaluate(POLICY, applicant(age=40, income="8000.00"))
        # income band 3 (350) + age band 3 (300) + no history (150)
        assert evaluation.outcome == Outcome.APPROVED and evaluation.score == 800
        assert evaluation.limit == Decimal("16000.00")
        assert evaluation.reason_codes == ["NO_CREDIT_HISTORY"]

    def test_the_multiplier_grows_with_the_score(self):
        base = evaluate(POLICY, applicant(age=30, income="3000.00"))  # 250 + 250 + 150 = 650: middle tier
        assert (base.score, base.limit) == (650, Decimal("4500.00"))
        lower = evaluate(POLICY, applicant(age=22, income="3000.00"))  # 250 + 150 + 150 = 550: first tier
        assert (lower.score, lower.limit) == (550, Decimal("3000.00"))

    def test_the_limit_is_rounded_down_to_a_multiple_of_50(self):
        evaluation = evaluate(POLICY, applicant(age=30, income="3033.33"))  # × 1.5 = 4549.995
        assert evaluation.limit == Decimal("4500.00")

    def test_the_limit_is_capped(self):
        evaluation = evaluate(POLICY, applicant(age=40, income="15000.00"))  # 400 + 300 + 150 = 850: × 2 = 30000
        assert evaluation.limit == Decimal("20000.00")
        assert "LIMIT_CAPPED" in evaluation.reason_codes
        assert evaluation.breakdown["limit"]["capped"] is True

    def test_the_score_is_at_most_1000(self):
        evaluation = evaluate(POLICY, applicant(age=40, income="20000.00", history=CLEAN_HISTORY))
        assert evaluation.score == 1000 and evaluation.reason_codes == ["LIMIT_CAPPED"]

    def test_the_breakdown_explains_every_factor(self):
        evaluation = evaluate(POLICY, applicant(age=40, income="8000.00", history=CLEAN_HISTORY))
        assert evaluation.breakdown == {
            "policy_version": 1,
            "income": {"monthly_income": "8000.00", "band": 3, "points": 350},
            "age": {"age": 40, "band": 3, "points": 300},
            "history": {
                "points": 300,
                "has_history": True,
                "payments_on_time": {"due_periods": 3, "paid_periods": 3, "points": 150},
                "utilisation": {"ratio": "0.10", "points": 150},
            },
            "score": 950,
            "min_score": 500,
            "limit": {
                "multiplier": "2.00",
                "income_times_multiplier": "16000.00",
                "cap": "20000.00",
                "capped": False,
                "step": "50.00",
                "limit": "16000.00",
            },
        }


class TestDenial:
    @pytest.mark.parametrize("age", [0, 16, 17])
    def test_a_minor_is_denied(self, age):
        evaluation = evaluate(POLICY, applicant(age=age))
        assert evaluation.outcome == Outcome.DENIED and evaluation.limit == 0
        assert evaluation.reason_codes[0] == "AGE_UNDER_18"

    def test_an_adult_below_the_policys_minimum_age_is_denied(self):
        policy = CreditPolicy(version=2, min_age=21)
        evaluation = evaluate(policy, applicant(age=19))
        assert evaluation.outcome == Outcome.DENIED and evaluation.reason_codes[0] == "AGE_BELOW_MINIMUM"

    def test_no_income_is_denied(self):
        evaluation = evaluate(POLICY, applicant(income="0.00"))
        assert evaluation.outcome == Outcome.DENIED and "INCOME_TOO_LOW" in evaluation.reason_codes

    def test_an_income_below_the_policys_minimum_is_denied(self):
        evaluation = evaluate(CreditPolicy(version=2, min_monthly_income=Decimal("1500.00")), applicant(income="1400.00"))
        assert evaluation.outcome == Outcome.DENIED and evaluation.reason_codes[0] == "INCOME_TOO_LOW"

    def test_an_income_too_low_for_the_smallest_limit_is_denied(self):
        evaluation = evaluate(POLICY, applicant(age=40, income="40.00"))  # 100 + 300 + 150 = 550 passes; 40 × 1 rounds to 0
        assert evaluation.score == 550
        assert evaluation.outcome == Outcome.DENIED and evaluation.reason_codes[0] == "INCOME_TOO_LOW"

    def test_a_score_below_the_minimum_is_denied(self):
        evaluation = evaluate(POLICY, applicant(age=20, income="1500.00"))  # 100 + 150 + 150 = 400
        assert evaluation.score == 400 and evaluation.outcome == Outcome.DENIED
        assert evaluation.reason_codes == ["SCORE_BELOW_MINIMUM", "LOW_INCOME", "YOUNG_APPLICANT", "NO_CREDIT_HISTORY"]

    def test_a_denial_still_shows_the_score_and_its_breakdown(self):
        evaluation = evaluate(POLICY, applicant(age=16, income="8000.00"))
        assert evaluation.score == 150 + 350 + 150 and evaluation.breakdown["limit"] is None


class TestAccountHistory:
    def test_payments_on_time_and_low_utilisation_earn_full_history_points(self):
        evaluation = evaluate(POLICY, applicant(history=CLEAN_HISTORY))
        assert evaluation.breakdown["history"]["points"] == 300 and "LATE_PAYMENTS" not in evaluation.reason_codes

    def test_periods_without_a_payment_cost_points_in_proportion(self):
        evaluation = evaluate(POLICY, applicant(history=History(utilisation=Decimal("0.10"), due_periods=3, paid_periods=1)))
        assert evaluation.breakdown["history"]["payments_on_time"]["points"] == 50
        assert "LATE_PAYMENTS" in evaluation.reason_codes

    def test_nothing_due_means_nothing_late(self):
        evaluation = evaluate(POLICY, applicant(history=History(utilisation=Decimal("0"), due_periods=0, paid_periods=0)))
        assert evaluation.breakdown["history"]["payments_on_time"]["points"] == 150

    @pytest.mark.parametrize(
        ("utilisation", "points", "high"),
        [("0.29", 150, False), ("0.30", 75, False), ("0.69", 75, False), ("0.70", 0, True), ("1.20", 0, True)],
    )
    def test_utilisation_bands(self, utilisation, points, high):
        history = History(utilisation=Decimal(utilisation), due_periods=3, paid_periods=3)
        evaluation = evaluate(POLICY, applicant(history=history))
        assert evaluation.breakdown["history"]["utilisation"]["points"] == points
        assert ("HIGH_UTILISATION" in evaluation.reason_codes) is high


class TestBands:
    @pytest.mark.parametrize(
        ("income", "band", "points"),
        [
            ("0.01", 1, 100),
            ("1999.99", 1, 100),
            ("2000.00", 2, 250),
            ("4999.99", 2, 250),
            ("5000.00", 3, 350),
            ("10000.00", 4, 400),
        ],
    )
    def test_income_bands(self, income, band, points):
        assert evaluate(POLICY, applicant(income=income)).breakdown["income"] == {
            "monthly_income": income,
            "band": band,
            "points": points,
        }

    @pytest.mark.parametrize(
        ("age", "band", "points"), [(18, 1, 150), (24, 1, 150), (25, 2, 250), (35, 3, 300), (64, 3, 300), (65, 4, 200)]
    )
    def test_age_bands(self, age, band, points):
        assert evaluate(POLICY, applicant(age=age)).breakdown["age"] == {"age": age, "band": band, "points": points}

    def test_age_counts_whole_years_to_the_day(self):
        from datetime import date

        assert age_on(date(2000, 6, 15), date(2018, 6, 14)) == 17
        assert age_on(date(2000, 6, 15), date(2018, 6, 15)) == 18


class TestLimitRequestDecision:
    GRANTED = evaluate(POLICY, applicant(age=40, income="8000.00"))  # grants 16000.00

    def decide(self, requested: str, *, current: str = "16000.00", active: bool = True, evaluation=None):
        return limit_request_outcome(
            POLICY,
            evaluation or self.GRANTED,
            requested=Decimal(requested),
            current_limit=Decimal(current),
            account_active=active,
        )

    def test_up_to_what_the_policy_grants_is_approved(self):
        assert self.decide("16000.00", current="10000.00") == (Outcome.APPROVED, ["NO_CREDIT_HISTORY"])

    def test_up_to_the_manual_review_factor_goes_to_an_operator(self):
        outcome, reasons = self.decide("24000.00")
        assert outcome == Outcome.MANUAL_REVIEW and reasons[-1] == "MANUAL_REVIEW_REQUIRED"

    def test_above_the_manual_review_factor_is_denied(self):
        outcome, reasons = self.decide("24000.01")
        assert outcome == Outcome.DENIED and reasons[-1] == "LIMIT_ABOVE_POLICY"

    def test_a_decrease_is_always_approved(self):
        denied = evaluate(POLICY, applicant(income="0.00"))
        assert self.decide("500.00", current="16000.00", evaluation=denied) == (Outcome.APPROVED, ["LIMIT_DECREASE"])

    def test_a_customer_the_policy_denies_gets_no_increase(self):
        denied = evaluate(POLICY, applicant(age=20, income="1500.00"))
        outcome, reasons = self.decide("17000.00", evaluation=denied)
        assert outcome == Outcome.DENIED and reasons[0] == "SCORE_BELOW_MINIMUM"

    def test_an_account_that_is_not_active_gets_nothing(self):
        assert self.decide("100.00", active=False) == (Outcome.DENIED, ["ACCOUNT_NOT_ACTIVE"])


class TestPolicyConsistency:
    def test_the_default_policy_is_consistent(self):
        assert policy_errors(POLICY) == []

    @pytest.mark.parametrize(
        ("changes", "error"),
        [
            ({"income_band_3_from": Decimal("1000.00")}, "income bands"),
            ({"age_band_4_from": 30}, "age bands"),
            ({"min_age": 16}, "minimum age"),
            ({"low_utilisation_below": Decimal("0.80")}, "utilisation"),
            ({"multiplier_3_from_score": 600}, "multiplier scores"),
            ({"multiplier_3": Decimal("1.00")}, "multipliers"),
            ({"limit_step": Decimal("0")}, "cap and step"),
            ({"manual_review_factor": Decimal("0.50")}, "manual review factor"),
            ({"income_band_4_points": 500}, "best possible score is 1100"),
        ],
    )
    def test_an_inconsistent_policy_is_refused(self, changes, error):
        [message] = policy_errors(CreditPolicy(version=2, **changes))
        assert error in message
