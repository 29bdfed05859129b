"""The customer cache in Redis: ``GET /users/{id}`` is hot, and every change invalidates it after commit.

Plain "delete on change" has a hole: a reader that loaded the row just before a change committed
can put the old row back after the delete. So entries live under a per-customer token that every
change replaces: a late write of the old row lands under the old token, which nobody reads again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

ENTRY_SECONDS = 300
TOKEN_SECONDS = 24 * 3600  # a lost token only costs one miss: the new one is random, never an old one

T = TypeVar("T")


def cached_customer(customer_id: uuid.UUID, load: Callable[[], T | None]) -> T | None:
    """The customer's cached representation, or ``load()`` stored for next time (nothing cached for None)."""
    token = _current_token(customer_id)
    entry_key = f"customer:{customer_id}:{token}"
    value = cache.get(entry_key)
    if value is None:
        value = load()
        if value is not None:
            cache.set(entry_key, value, ENTRY_SECONDS)
    return value


def forget_customer_on_commit(customer_id: uuid.UUID) -> None:
    """Invalidate the customer's entry once the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(lambda: cache.set(_token_key(customer_id), uuid.uuid4().hex, TOKEN_SECONDS))


def _current_token(customer_id: uuid.UUID) -> str:
    key = _token_key(customer_id)
    token = cache.get(key)
    if token is None:
        new = uuid.uuid4().hex
        cache.add(key, new, TOKEN_SECONDS)
        token = cache.get(key) or new
    return token


def _token_key(customer_id: uuid.UUID) -> str:
    return f"customer:{customer_id}:token"
