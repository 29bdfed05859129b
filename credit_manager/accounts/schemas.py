"""What the API returns for accounts."""

import uuid
from datetime import datetime

from ninja import Field, Schema

from common.schemas import Money


class DecisionSummaryOut(Schema):
    id: uuid.UUID
    trigger: str
    outcome: str
    score: int
    reason_codes: list[str]
    policy_version: int
    created_at: datetime


class AccountOut(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    status: str
    credit_limit: Money
    balance: Money
    held: Money = Field(..., description="Reserved by card authorizations not yet captured, released or expired.")
    available: Money = Field(..., description="limit − balance − held, never below zero.")
    over_limit: bool = Field(..., description="Owed and held beyond the limit (after a forced or late card capture).")
    currency: str
    version: int
    current_decision: DecisionSummaryOut | None = Field(None, description="The decision behind the current limit and status.")
    opened_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_held(obj) -> object:
        return obj.held_in_force
