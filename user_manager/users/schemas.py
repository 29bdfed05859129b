"""What the API accepts and returns for customers (explicit fields, money as decimal strings)."""

import re
import unicodedata
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, EmailStr, StringConstraints

from common.schemas import Money
from users.cpf import normalize_cpf
from users.models import Customer, CustomerStatus


def _plain_text(value: str) -> str:
    """No control characters or lone surrogates: Postgres cannot store some, and none belongs in a name."""
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise ValueError("must not contain control characters")
    return value


def _cpf(value: str) -> str:
    digits = normalize_cpf(value)
    if digits is None:
        raise ValueError("not a valid CPF")
    return digits


def _e164(value: str) -> str:
    if value and not re.fullmatch(r"\+[1-9][0-9]{7,14}", value):
        raise ValueError("phone must be in E.164 format, e.g. +5511987654321")
    return value


def _in_the_past(value: date) -> date:
    if value >= date.today() or value.year < 1900:
        raise ValueError("birth date must be in the past (after 1900)")
    return value


FullName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=200),
    AfterValidator(_plain_text),
    Field(examples=["Ana Maria Silva"]),
]
Email = Annotated[
    EmailStr, StringConstraints(max_length=254), AfterValidator(_plain_text), Field(examples=["ana.silva@example.com"])
]
TaxId = Annotated[
    str, AfterValidator(_cpf), Field(description="CPF, formatted (123.456.789-09) or 11 digits.", examples=["529.982.247-25"])
]
Phone = Annotated[
    str, AfterValidator(_e164), Field(description="E.164, e.g. +5511987654321; empty for none.", examples=["+5511987654321"])
]
BirthDate = Annotated[date, AfterValidator(_in_the_past), Field(examples=["1990-05-01"])]
MoneyIn = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, description="A decimal string.", examples=["5000.00"])]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_plain_text)]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_plain_text)]


class CustomerIn(Schema):
    full_name: FullName
    email: Email
    tax_id: TaxId
    birth_date: BirthDate
    monthly_income: MoneyIn
    phone: Phone = ""


class CustomerPatch(Schema):
    """Only the fields sent change; a field sent as null is invalid (an empty phone removes it)."""

    # Defaults are not validated, so "absent" is allowed while an explicit null is refused.
    full_name: FullName = None
    email: Email = None
    phone: Phone = None
    monthly_income: MoneyIn = None


class StatusChangeIn(Schema):
    reason: Reason = ""


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
