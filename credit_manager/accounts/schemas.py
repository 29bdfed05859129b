"""What the API returns for accounts, and the field types every credit_manager schema shares
(money as a two-decimal string, plain text without control characters)."""

import unicodedata
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator, PlainSerializer, WithJsonSchema


def _plain_text(value: str) -> str:
    """No control characters or lone surrogates: Postgres cannot store some, and none belongs in a description."""
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise ValueError("must not contain control characters")
    return value


Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["1500.00"]}),
]
MoneyIn = Annotated[
    Decimal, Field(gt=0, max_digits=14, decimal_places=2, description='Decimal string with up to 2 places, e.g. "1500.00".')
]


NO_CONTROL_CHARACTERS = AfterValidator(_plain_text)


class DecisionSummaryOut(Schema):
    id: uuid.UUID
    trigger: str
    outcome: str
    score: int
    reason_codes: list[str]
    policy_version: int
    created_at: datetime

    @staticmethod
    def resolve_policy_version(obj) -> int:
        return obj.policy.version


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
