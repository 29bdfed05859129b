"""What the API accepts and returns for customers (explicit fields, money as decimal strings)."""


import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import EmailStr, Field, StringConstraints, field_validator

from users.cpf import normalize_cpf

MoneyIn = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class CustomerIn(Schema):
    full_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    email: EmailStr
    tax_id: str = Field(description="CPF, formatted or 11 digits.")
    birth_date: date
    monthly_income: MoneyIn
    phone: str = Field(default="", description="E.164, e.g. +5511987654321.")

    @field_validator("tax_id")
    @classmethod
    def valid_cpf(cls, value: str) -> str:
        digits = normalize_cpf(value)
        if digits is None:
            raise ValueError("not a valid CPF")
        return digits

    @field_validator("phone")
    @classmethod
    def e164(cls, value: str) -> str:
        if value and not re.fullmatch(r"\+[1-9]\d{7,14}", value):
            raise ValueError("phone must be in E.164 format, e.g. +5511987654321")
        return value

    @field_validator("birth_date")
    @classmethod
    def in_the_past(cls, value: date) -> date:
        if value >= date.today() or value.year < 1900:
            raise ValueError("birth date must be in the past (after 1900)")
        return value


class CustomerOut(Schema):
    id: uuid.UUID
    full_name: str
    email: str
    tax_id: str
    birth_date: date
    monthly_income: str
    phone: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_monthly_income(obj) -> str:
        return f"{obj.monthly_income:.2f}"
