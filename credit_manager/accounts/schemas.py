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
    available: Money
    currency: str
    version: int
    current_decision: DecisionSummaryOut | None = Field(None, description="The decision behind the current limit and status.")
    opened_at: datetime
    updated_at: datetime
