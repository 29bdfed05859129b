"""What the API accepts and returns for customers (explicit fields, money as decimal strings)."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from common.schemas import NO_CONTROL_CHARACTERS, Money
from users import rules
from users.models import Customer, CustomerStatus

# The rules are users.rules' (the services check them for every caller); here they get their examples.
FullName = Annotated[rules.FullName, Field(examples=["Ana Maria Silva"])]
Email = Annotated[rules.Email, Field(examples=["ana.silva@example.com"])]
TaxId = Annotated[rules.TaxId, Field(description="CPF, formatted (123.456.789-09) or 11 digits.", examples=["529.982.247-25"])]
BirthDate = Annotated[rules.BirthDate, Field(description="In the past, from 1900.", examples=["1990-05-01"])]
MonthlyIncome = Annotated[rules.MonthlyIncome, Field(description="A decimal string.", examples=["5000.00"])]
Phone = Annotated[rules.Phone, Field(description="E.164, e.g. +5511987654321; empty for none.", examples=["+5511987654321"])]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NO_CONTROL_CHARACTERS]


class CustomerIn(Schema):
    full_name: FullName
    email: Email
    tax_id: TaxId
    birth_date: BirthDate
    monthly_income: MonthlyIncome
    phone: Phone = ""


class CustomerPatch(Schema):
    """Only the fields sent change; a field sent as null is invalid (an empty phone removes it)."""

    # Defaults are not validated, so "absent" is allowed while an explicit null is refused.
    full_name: FullName = None
    email: Email = None
    phone: Phone = None
    monthly_income: MonthlyIncome = None


class StatusChangeIn(Schema):
    reason: rules.Reason = ""


class CustomerFilters(Schema):
    status: CustomerStatus | None = None
    search: SearchText | None = Field(None, description="Part of the name or email, any case.")
    ordering: Literal["created_at", "-created_at", "full_name", "-full_name"] = "-created_at"


class DecisionOut(Schema):
    outcome: str
    reason_codes: list[str]
    decided_at: datetime


class CreditOut(Schema):
    """The customer's credit as credit_manager last reported it (``customer.credit_summary``), all
    nulls until it has; read through the reverse relation, so users never imports credit_summary."""

    status: str | None = None
    credit_limit: Money | None = None
    available: Money | None = None
    last_decision: DecisionOut | None = None
    updated_at: datetime | None = None

    @staticmethod
    def resolve_last_decision(summary) -> dict | None:
        if summary.last_decision_at is None:
            return None
        return {
            "outcome": summary.last_decision_outcome,
            "reason_codes": summary.last_decision_reason_codes,
            "decided_at": summary.last_decision_at,
        }


class CustomerOut(Schema):
    id: uuid.UUID
    full_name: str
    email: str
    tax_id: str
    birth_date: date
    monthly_income: Money
    phone: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    credit: CreditOut

    @staticmethod
    def resolve_credit(obj: Customer) -> object:
        # A missing summary raises RelatedObjectDoesNotExist, an AttributeError.
        return getattr(obj, "credit_summary", None) or CreditOut()
