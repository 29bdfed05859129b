"""What the API accepts and returns for customers (explicit fields, money as decimal strings).

The rules are ``users.rules``' (the services check them for every caller, or take a registration
already checked: ``CustomerIn`` is a ``NewCustomer``); the fields here add what belongs to JSON:
examples, and income as a decimal string. Request bodies are plain pydantic
models: ninja's ``Schema`` reads any object's attributes, so a JSON list would pass as an empty body.
"""

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from ninja import Field, Schema
from pydantic import BaseModel, StringConstraints

from common.schemas import NO_CONTROL_CHARACTERS, NOT_NEGATIVE_MONEY_PATTERN, STRIPPED, Money, money_text
from users import rules
from users.models import Customer, CustomerStatus


def _never_null(schema: dict[str, Any]) -> None:
    """The JSON schema of an optional query parameter: its value only, since one left out is None and
    one sent is text (``null`` would be the four letters)."""
    schema.update(next(option for option in schema.pop("anyOf") if option != {"type": "null"}))


def _any_case(word: str) -> str:
    """A pattern for ``word`` in any case (JSON Schema patterns have no flags)."""
    return "".join(f"[{char}{char.upper()}]" if char.isalpha() else re.escape(char) for char in word)


FullName = Annotated[rules.FullName, Field(examples=["Ana Maria Silva"])]
Email = Annotated[
    rules.Email,
    Field(
        description="An address at a domain mail can reach: not a special-use one (.test, .local, .invalid, …).",
        examples=["ana.silva@example.com"],
        json_schema_extra={"not": {"pattern": rf"\.({'|'.join(map(_any_case, SPECIAL_USE_DOMAIN_NAMES))})$"}},
    ),
]
TaxId = Annotated[rules.TaxId, Field(description="CPF, formatted (123.456.789-09) or 11 digits.", examples=["529.982.247-25"])]
BirthDate = Annotated[rules.BirthDate, Field(description="In the past, from 1900.", examples=["1990-05-01"])]
MonthlyIncome = Annotated[
    rules.MonthlyIncome,
    *money_text(
        NOT_NEGATIVE_MONEY_PATTERN, meaning="a decimal string, not negative, with at most 2 decimal places", example="5000.00"
    ),
]
Phone = Annotated[rules.Phone, Field(description="E.164, e.g. +5511987654321; empty for none.", examples=["+5511987654321"])]
SearchText = Annotated[str, StringConstraints(max_length=100), NO_CONTROL_CHARACTERS, STRIPPED]


class CustomerIn(rules.NewCustomer):
    full_name: FullName
    email: Email
    tax_id: TaxId
    birth_date: BirthDate
    monthly_income: MonthlyIncome
    phone: Phone = ""


class CustomerPatch(BaseModel):
    """Only the fields sent change; a field sent as null is invalid (an empty phone removes it)."""

    # Defaults are not validated, so "absent" is allowed while an explicit null is refused.
    full_name: FullName = None
    email: Email = None
    phone: Phone = None
    monthly_income: MonthlyIncome = None


class StatusChangeIn(BaseModel):
    reason: rules.Reason = ""


class CustomerFilters(Schema):
    status: CustomerStatus | None = Field(None, json_schema_extra=_never_null)
    search: SearchText | None = Field(None, description="Part of the name or email, any case.", json_schema_extra=_never_null)
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
    balance: Money | None = None
    held: Money | None = Field(None, description="Reserved by card authorizations not yet captured, released or expired.")
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
