"""The customer rules JSON Schema cannot state, for the fuzzers (in-process and the CLI hooks).

A CPF's check digits and "a birth date before today" are not expressible in an OpenAPI schema, so a
fuzzer's schema-valid registration would be refused (422) as if it were invalid. A valid request is
given values that obey them; an invalid one is sent as generated. No Django here: the CLI's hooks
load this module outside any Django project.
"""

from __future__ import annotations

from datetime import date

from schemathesis.core.parameters import ParameterLocation


def cpf(nine_digits: int) -> str:
    """The CPF of ``nine_digits`` (100000000 and up): the nine digits and their two check digits."""
    digits = [int(d) for d in str(nine_digits)]
    for weight_start in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weight_start, 1, -1), strict=True))
        digits.append(total * 10 % 11 % 10)
    return "".join(map(str, digits))


def obey_the_rules_no_schema_states(case, *, tax_id: str) -> None:
    """A valid registration gets ``tax_id`` and a birth date in the past; an invalid body is left as it is."""
    negative = case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY)
    if negative or not isinstance(case.body, dict):
        return
    if "tax_id" in case.body:
        case.body["tax_id"] = tax_id
    if "birth_date" in case.body:
        case.body["birth_date"] = date(1990, 5, 1).isoformat()
