"""The field types every API of the platform shares: money as a two-decimal string, and plain text.

Money goes out as a string (``"1500.00"``), never a JSON number, so no client reads it as a float.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Annotated

from ninja import Field
from pydantic import AfterValidator, PlainSerializer, WithJsonSchema


def _plain_text(value: str) -> str:
    """No control characters or lone surrogates: Postgres cannot store some, and none belongs in a text field."""
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise ValueError("must not contain control characters")
    return value


NO_CONTROL_CHARACTERS = AfterValidator(_plain_text)

Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["1500.00"]}),
]
MoneyIn = Annotated[
    Decimal, Field(gt=0, max_digits=14, decimal_places=2, description='Decimal string with up to 2 places, e.g. "1500.00".')
]
