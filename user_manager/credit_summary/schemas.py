"""The credit summary as the API shows it inside every customer (nulls until credit_manager answered)."""


from datetime import datetime
from decimal import Decimal

from ninja import Schema

from credit_summary.models import CreditSummary


class DecisionOut(Schema):
    outcome: str
    reason_codes: list[str]
    decided_at: datetime


class CreditOut(Schema):
    status: str | None = None
    credit_limit: str | None = None
    available: str | None = None
    last_decision: DecisionOut | None = None
    updated_at: datetime | None = None

    @staticmethod
    def of(summary: CreditSummary | None) -> "CreditOut":
        """The summary of a customer, or all nulls for one credit_manager has not reported on yet."""
        if summary is None:
            return CreditOut()
        decision = None
        if summary.last_decision_at is not None:
            decision = DecisionOut(
                outcome=summary.last_decision_outcome,
                reason_codes=summary.last_decision_reason_codes,
                decided_at=summary.last_decision_at,
            )
        return CreditOut(
            status=summary.status,
            credit_limit=_money(summary.credit_limit),
            available=_money(summary.available),
            last_decision=decision,
            updated_at=summary.updated_at,
        )


def _money(value: Decimal) -> str:
    return f"{value:.2f}"
