"""The rules a customer's data obeys, whoever sends it: the API, the back office or a shell.

Each field is a type: its shape (length, digits) and its rule (a CPF's check digits, a birth date
in the past) together, and the normal form it is stored in (a CPF as its 11 digits, a name without
surrounding spaces). The services pass every value through ``checked`` before it reaches the
database; the API's schemas type their fields with the same types, so a request hears about all its
invalid fields at once and the OpenAPI schema shows what is accepted.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from common.cpf import normalize_cpf
from common.errors import DomainError, ErrorCode
from common.schemas import NO_CONTROL_CHARACTERS, STRIPPED, TWO_VISIBLE

PHONE_PATTERN = r"^(\+[1-9][0-9]{7,14})?$"  # E.164, or empty for none


def _cpf(value: str) -> str:
    digits = normalize_cpf(value)
    if digits is None:
        raise ValueError("not a valid CPF")
    return digits


def _not_a_number(value: object) -> object:
    """A date or its ISO text: pydantic would read a number as a timestamp, which no birth date is given as."""
    if isinstance(value, int | float | Decimal):
        raise ValueError("birth date must be a date (YYYY-MM-DD), not a number")
    return value


def _in_the_past(value: date) -> date:
    if value >= date.today() or value.year < 1900:
        raise ValueError("birth date must be in the past (after 1900)")
    return value


FullName = Annotated[str, StringConstraints(min_length=2, max_length=200), TWO_VISIBLE, STRIPPED]
Email = Annotated[EmailStr, StringConstraints(max_length=254), NO_CONTROL_CHARACTERS]
TaxId = Annotated[str, AfterValidator(_cpf)]
BirthDate = Annotated[date, BeforeValidator(_not_a_number), AfterValidator(_in_the_past)]
MonthlyIncome = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Phone = Annotated[str, StringConstraints(pattern=PHONE_PATTERN)]
Reason = Annotated[str, StringConstraints(max_length=500), NO_CONTROL_CHARACTERS, STRIPPED]

_FIELDS: dict[str, TypeAdapter[Any]] = {
    "full_name": TypeAdapter(FullName),
    "email": TypeAdapter(Email),
    "tax_id": TypeAdapter(TaxId),
    "birth_date": TypeAdapter(BirthDate),
    "monthly_income": TypeAdapter(MonthlyIncome),
    "phone": TypeAdapter(Phone),
    "reason": TypeAdapter(Reason),
}


def checked(**values: Any) -> dict[str, Any]:
    """The values in their normal form; ``VALIDATION_ERROR`` with one entry per invalid field otherwise,
    in the shape the API gives any invalid field (``field``, ``message``, ``type``)."""
    valid: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for name, value in values.items():
        try:
            valid[name] = _FIELDS[name].validate_python(value)
        except ValidationError as exc:
            errors += _described(exc, field=name)
    if errors:
        raise DomainError(ErrorCode.VALIDATION_ERROR, errors=errors)
    return valid


class NewCustomer(BaseModel):
    """A customer to register, every field checked and in its normal form: one exists only once its
    values were validated (the API's body is one; :func:`new_customer` makes one of plain values), so
    registering it checks nothing again."""

    model_config = ConfigDict(frozen=True)

    full_name: FullName
    email: Email
    tax_id: TaxId
    birth_date: BirthDate
    monthly_income: MonthlyIncome
    phone: Phone = ""


def new_customer(**values: Any) -> NewCustomer:
    """The registration of these values; ``VALIDATION_ERROR`` naming every invalid field, as :func:`checked`."""
    try:
        return NewCustomer(**values)
    except ValidationError as exc:
        raise DomainError(ErrorCode.VALIDATION_ERROR, errors=_described(exc)) from None


def _described(exc: ValidationError, *, field: str | None = None) -> list[dict[str, Any]]:
    return [
        {"field": field or ".".join(map(str, error["loc"])), "message": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
