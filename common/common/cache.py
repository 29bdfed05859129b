"""A Redis cache of hot reads (one customer, one account) that a change can never leave stale.

Plain "delete on change" has a hole: a reader that loaded the row just before a change committed
can put the old row back after the delete. So each object has a token that every change replaces
after commit, and an entry counts only if it was stored under the current token: a late write of
the old row carries the old token and is never served. A hit is one round trip (token and entry in
one MGET).
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


class TokenCache:
    """Cached objects of one kind: ``<kind>:<id>`` holds ``(token, object)``, ``<kind>:<id>:token`` the token."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def get_or_load(self, object_id: uuid.UUID, load: Callable[[], T | None]) -> T | None:
        """The cached object, or ``load()`` stored for next time (nothing is cached for None)."""
        token_key, entry_key = self._token_key(object_id), self._entry_key(object_id)
        found = cache.get_many([token_key, entry_key])
        token, entry = found.get(token_key), found.get(entry_key)
        if token is not None and entry is not None and entry[0] == token:
            return entry[1]
        if token is None:
            token = self._new_token(token_key)
        value = load()
        if value is not None:
            cache.set(entry_key, (token, value), ENTRY_SECONDS)
        return value

    def forget_on_commit(self, object_id: uuid.UUID) -> None:
        """Invalidate the object's entry once the current transaction commits (nothing if it rolls back)."""
        transaction.on_commit(lambda: cache.set(self._token_key(object_id), uuid.uuid4().hex, TOKEN_SECONDS))

    def _new_token(self, token_key: str) -> str:
        """Start a token (a concurrent reader may start one first: theirs wins)."""
        cache.add(token_key, uuid.uuid4().hex, TOKEN_SECONDS)
        return cache.get(token_key) or ""

    def _entry_key(self, object_id: uuid.UUID) -> str:
        return f"{self.kind}:{object_id}"

    def _token_key(self, object_id: uuid.UUID) -> str:
        return f"{self.kind}:{object_id}:token"
