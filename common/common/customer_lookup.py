"""What credit_manager keeps of a customer so its operators can find and recognise an account: the name,
the tax id and email masked for display, and keyed digests of the whole tax id and email to search by.

Both services hold the same ``CUSTOMER_LOOKUP_KEY``: user_manager digests what it knows, credit_manager
digests what an operator types, and only equal inputs meet. The whole tax id and email never leave
user_manager.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

from common.cpf import normalize_cpf


def tax_id_digest(value: str) -> str | None:
    """The digest of a CPF, typed formatted or as digits; None if it is not a valid CPF."""
    digits = normalize_cpf(value)
    return _digest("tax_id", digits) if digits else None


def email_digest(value: str) -> str:
    return _digest("email", value.strip().lower())


def mask_email(email: str) -> str:
    """``a***@example.com``: enough to tell two customers apart on a screen, not enough to write to them."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _digest(kind: str, value: str) -> str:
    return hmac.new(settings.CUSTOMER_LOOKUP_KEY.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
