
import uuid
from datetime import datetime

from ninja import Schema


class AccountOut(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    status: str
    credit_limit: str
    balance: str
    available: str
    currency: str
    version: int
    opened_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_credit_limit(obj) -> str:
        return f"{obj.credit_limit:.2f}"

    @staticmethod
    def resolve_balance(obj) -> str:
        return f"{obj.balance:.2f}"

    @staticmethod
    def resolve_available(obj) -> str:
        return f"{obj.available:.2f}"
