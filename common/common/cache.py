"""A Redis cache of hot reads (one customer, one account) that a change can never leave stale.

Plain "delete on change" has a hole: a reader that loaded the row just before a change committed
can put the old row back after the delete. So entries live under a per-object token that every
change replaces after commit; a late write of the old row lands under the old token, which nobody
reads again.
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
    """Cached objects of one kind, keyed ``<kind>:<id>:<token>``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def get_or_load(self, object_id: uuid.UUID, load: Callable[[], T | None]) -> T | None:
        """The cached object, or ``load()`` stored for next time (nothing is cached for None)."""
        entry_key = f"{self.kind}:{object_id}:{self._current_token(object_id)}"
        value = cache.get(entry_key)
        if value is None:
            value = load()
            if value is not None:
                cache.set(entry_key, value, ENTRY_SECONDS)
        return value

    def forget_on_commit(self, object_id: uuid.UUID) -> None:
        """Invalidate the object's entry once the current transaction commits (nothing if it rolls back)."""
        transaction.on_commit(lambda: cache.set(self._token_key(object_id), uuid.uuid4().hex, TOKEN_SECONDS))

    def _current_token(self, object_id: uuid.UUID) -> str:
        key = self._token_key(object_id)
        token = cache.get(key)
        if token is None:
            new = uuid.uuid4().hex
            cache.add(key, new, TOKEN_SECONDS)
            token = cache.get(key) or new
        return token

    def _token_key(self, object_id: uuid.UUID) -> str:
        return f"{self.kind}:{object_id}:token"
