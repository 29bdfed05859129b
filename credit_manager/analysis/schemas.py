"""What the API accepts and returns for decisions and limit requests."""

import uuid
from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from analysis import selectors
from common.schemas import Money, MoneyIn


class DecisionOut(Schema):
    id: uuid.UUID
    account_id: uuid.UUID
    trigger: str
    outcome: str
    score: int
    reason_codes: list[str]
    breakdown: dict[str, Any] = Field(description="Inputs and points per factor, and how the limit was computed.")
    policy_version: int
    granted_limit: Money | None = Field(description="The limit the decision set; null if it set none.")
    limit_request_id: uuid.UUID | None
    decided_by: Literal["policy", "operator"]
    note: str
    created_at: datetime

    @staticmethod
    def resolve_policy_version(obj) -> int:
        return obj.policy.version

    @staticmethod
    def resolve_decided_by(obj) -> str:
        return "operator" if obj.decided_by_id else "policy"


class LimitRequestIn(Schema):
    requested_limit: MoneyIn


class LimitRequestOut(Schema):
    id: uuid.UUID
    account_id: uuid.UUID
    requested_limit: Money
    status: str = Field(description="pending, then approved, denied or manual_review (then approved or denied by an operator).")
    decision: DecisionOut | None = Field(description="The decision that stands on the request; null while pending.")
    created_at: datetime
    decided_at: datetime | None

    @staticmethod
    def resolve_decision(obj):
        return selectors.latest_decision(obj)
