"""What the API accepts and returns for ledger transactions."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import StringConstraints

from common.schemas import NO_CONTROL_CHARACTERS, NON_BLANK, STRIPPED, Money, MoneyIn


class TransactionIn(Schema):
    type: Literal["purchase", "payment", "refund"]
    amount: MoneyIn
    description: Annotated[str, StringConstraints(max_length=200), NO_CONTROL_CHARACTERS, STRIPPED] = ""
    external_reference: Annotated[str, StringConstraints(max_length=100), NO_CONTROL_CHARACTERS, STRIPPED] = ""


class ReverseIn(Schema):
    reason: Annotated[str, StringConstraints(max_length=500), NON_BLANK, STRIPPED]


class TransactionOut(Schema):
    id: uuid.UUID
    account_id: uuid.UUID
    type: str
    direction: str
    amount: Money
    description: str
    external_reference: str
    reverses_id: uuid.UUID | None
    reversed_by_id: uuid.UUID | None
    balance_after: Money
    available_after: Money
    created_at: datetime

    @staticmethod
    def resolve_reversed_by_id(obj) -> uuid.UUID | None:
        # The reverse side of a one-to-one raises (an AttributeError) when there is no reversal.
        reversal = getattr(obj, "reversed_by", None)
        return reversal.id if reversal else None
