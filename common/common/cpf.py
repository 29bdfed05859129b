"""CPF, the Brazilian individual tax id: 11 digits, the last two are check digits."""

from __future__ import annotations

import re


def normalize_cpf(value: str) -> str | None:
    """The 11 digits of a valid CPF (formatted ``123.456.789-09`` or not), or None if invalid."""
    # [0-9], not \d: \d also takes the digits of other scripts.
    if not re.fullmatch(r"[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}", value.strip()):
        return None
    digits = re.sub(r"[^0-9]", "", value)
    if len(set(digits)) == 1:  # 000.000.000-00 and the like pass the arithmetic but are not CPFs
        return None
    for position in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:position], range(position + 1, 1, -1), strict=True))
        if int(digits[position]) != (total * 10 % 11) % 10:
            return None
    return digits


def mask_cpf(digits: str) -> str:
    """For lists and logs: only the middle digits show, e.g. ``***.456.789-**``."""
    return f"***.{digits[3:6]}.{digits[6:9]}-**"
