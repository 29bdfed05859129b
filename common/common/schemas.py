"""The field types every API of the platform shares: money as a two-decimal string, and plain text.

Money goes out as a string (``"1500.00"``), never a JSON number, so no client reads it as a float,
and comes in the same way. Each input type declares in the OpenAPI schema exactly what it accepts
(a pattern, a length), so what a client or a fuzzer reads there is what the API does.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

_CONTROL = r"\x00-\x1f\x7f-\x9f"
# What str.strip() removes besides control characters: a text of only these is blank.
_SPACE = r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
TEXT_PATTERN = f"^[^{_CONTROL}]*$"
NON_BLANK_TEXT_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*$"
# Two characters or more once the spaces around it are dropped: two characters, anywhere, that are not spaces.
TWO_VISIBLE_TEXT_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*$"
# Above zero, at most 12 digits before the point and 2 after it (what a NUMERIC(14, 2) holds), no leading zero.
POSITIVE_MONEY_PATTERN = r"^([1-9][0-9]{0,11}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"
# The same, zero allowed (an income).
NOT_NEGATIVE_MONEY_PATTERN = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$"


class _NoControlCharacters:
    """No control characters or lone surrogates: Postgres cannot store some (NUL), and none belongs in a
    text field. Checked in Python, whatever the text type (``str``, ``EmailStr``), and declared in the
    JSON schema as ``TEXT_PATTERN``."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_plain_text, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "pattern": TEXT_PATTERN}


def _plain_text(value: str) -> str:
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise ValueError("must not contain control characters")
    return value


# Text markers, to combine with a StringConstraints(max_length=...) and STRIPPED, e.g.
# ``Annotated[str, StringConstraints(max_length=200), NO_CONTROL_CHARACTERS, STRIPPED]``.
NO_CONTROL_CHARACTERS = _NoControlCharacters()
# No control characters and more than spaces, for a required text (a reason); on ``str`` only.
NON_BLANK = StringConstraints(pattern=NON_BLANK_TEXT_PATTERN)
# The same for a text that must keep two characters or more once stripped (a name): a length checked
# before STRIPPED alone would let " Ó" through the schema and then refuse it.
TWO_VISIBLE = StringConstraints(pattern=TWO_VISIBLE_TEXT_PATTERN)
# The spaces around a text are dropped after it is checked (not before, as strip_whitespace would),
# so the lengths the schema declares hold for the text as sent.
STRIPPED = AfterValidator(str.strip)


def money_text(pattern: str, *, meaning: str, example: str) -> tuple[BeforeValidator, WithJsonSchema]:
    """What makes a ``Decimal`` field take money as the API does: a decimal string matching ``pattern``
    (never a JSON number, which a client may have read as a float), declared so in the JSON schema."""

    def decimal_string(value: object) -> object:
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise ValueError(f'must be {meaning}, e.g. "{example}"')
        return value

    description = f'{meaning[0].upper()}{meaning[1:]}, e.g. "{example}".'
    return BeforeValidator(decimal_string), WithJsonSchema(
        {"type": "string", "pattern": pattern, "description": description, "examples": [example]}
    )


Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["1500.00"]}),
]
MoneyIn = Annotated[
    Decimal,
    *money_text(POSITIVE_MONEY_PATTERN, meaning="a decimal string above zero with at most 2 decimal places", example="1500.00"),
]
