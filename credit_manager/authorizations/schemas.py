"""What the API accepts and returns for card authorizations.

Request bodies are plain pydantic models: ninja's ``Schema`` reads any object's attributes, so a JSON
list would pass as a body of defaults.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import BaseModel, StringConstraints

from authorizations.models import MCC_PATTERN
from common.schemas import NON_BLANK, NOT_NEGATIVE_MONEY_PATTERN, STRIPPED, Money, MoneyIn, money_text

# A network may ask for zero (a card check): it is a valid request, declined with AMOUNT_NOT_POSITIVE.
AmountAsked = Annotated[
    Decimal,
    *money_text(
        NOT_NEGATIVE_MONEY_PATTERN, meaning="a decimal string of zero or more with at most 2 decimal places", example="120.00"
    ),
]


class MerchantIn(BaseModel):
    name: Annotated[str, StringConstraints(max_length=100), NON_BLANK, STRIPPED]
    mcc: Annotated[str, StringConstraints(pattern=MCC_PATTERN)] = Field(..., description="Merchant category code (ISO 18245).")
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(None, description="ISO 3166-1 alpha-2 code.")


class AuthorizationIn(BaseModel):
    amount: AmountAsked
    merchant: MerchantIn
    network_reference: Annotated[str, StringConstraints(max_length=100), NON_BLANK, STRIPPED] = Field(
        ..., description="The network's id of the request: the same one again on the account returns the same authorization."
    )


class IncrementIn(BaseModel):
    amount: AmountAsked


class CaptureIn(BaseModel):
    amount: MoneyIn
    final: bool = Field(True, description="Release whatever is left of the hold after this capture.")
    force: bool = Field(False, description="The network's forced capture: posted even beyond the authorization's tolerance.")


class ReversalIn(BaseModel):
    amount: MoneyIn | None = Field(None, description="What to release; all that is held when absent.")


class DecisionOut(Schema):
    outcome: Literal["approved", "declined"]
    reason_code: str | None = Field(None, description="Why it was declined (INSUFFICIENT_CREDIT, ACCOUNT_NOT_ACTIVE, ...).")


class AccountAfterOut(Schema):
    balance: Money
    held: Money
    available: Money


class HistoryEntryOut(Schema):
    kind: Literal["request", "increment", "capture", "reversal", "expiry"]
    amount: Money
    outcome: Literal["approved", "declined"]
    reason_code: str | None = None
    final: bool
    forced: bool
    over_limit: bool
    transaction_id: uuid.UUID | None
    account: AccountAfterOut
    created_at: datetime

    @staticmethod
    def resolve_reason_code(obj) -> str | None:
        return obj.decline_reason or None

    @staticmethod
    def resolve_account(obj) -> dict:
        return {"balance": obj.balance_after, "held": obj.held_after, "available": obj.available_after}


class MerchantOut(Schema):
    name: str
    mcc: str
    country: str | None


class AuthorizationOut(Schema):
    id: uuid.UUID
    account_id: uuid.UUID
    network_reference: str
    status: str
    amount: Money
    held_amount: Money
    captured_amount: Money
    released_amount: Money
    merchant: MerchantOut
    decision: DecisionOut
    over_limit: bool
    expires_at: datetime
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_merchant(obj) -> dict:
        return {"name": obj.merchant_name, "mcc": obj.merchant_mcc, "country": obj.merchant_country or None}

    @staticmethod
    def resolve_decision(obj) -> dict:
        return {"outcome": "declined" if obj.decline_reason else "approved", "reason_code": obj.decline_reason or None}


class AuthorizationDetailOut(AuthorizationOut):
    account: AccountAfterOut = Field(..., description="The account after the latest step of the authorization.")
    history: list[HistoryEntryOut]

    # ``history_entries``: the history read with the authorization (``selectors.with_history``), or kept
    # by the service that changed it.
    @staticmethod
    def resolve_account(obj) -> dict:
        return HistoryEntryOut.resolve_account(obj.history_entries[-1])

    @staticmethod
    def resolve_history(obj) -> list:
        return obj.history_entries
