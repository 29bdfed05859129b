"""A cache of hot reads (one customer, one account): in each process's memory, then in Redis.

Plain "delete on change" has a hole: a reader that loaded the row just before a change committed
can put the old row back after the delete. So each object has a token in Redis that every change
replaces after commit, and an entry counts only if it was stored under the current token: a late
write of the old row carries the old token and is never served. A Redis hit is one round trip
(token and entry in one MGET).

Each process also keeps what it read (``common.process_memory``, ``CACHE_LOCAL_SECONDS``), so a hot
object needs no round trip: a change, once committed, is announced to every process, which drops it
(a read that began before the announcement does not keep what it read). Memory is used only while
the process listens for announcements; between a commit and its announcement's arrival (a
millisecond or so) a process may still answer with what it read before, as a Redis reader may
between a commit and the token's replacement.

The cache only speeds reads up: with Redis away a read loads from the database, and a change still
commits and answers. A token that could not be replaced is remembered by the process and replaced
before its next use of the cache; until then other processes may serve the old entry, at most
``ENTRY_SECONDS``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.client import Pipeline

from common.process_memory import ProcessMemory
from common.transactions import after_commit

logger = logging.getLogger(__name__)

ENTRY_SECONDS = 300
MEMORY_ENTRIES = 10_000  # per kind and process: a few MB of answers
TOKEN_SECONDS = 24 * 3600  # a lost token only costs one miss: the new one is random, never an old one

T = TypeVar("T")

# Token keys whose replacement failed (Redis away), replaced before this process uses the cache again.
_unreplaced_tokens: set[str] = set()


class TokenCache:
    """Cached objects of one kind: ``<kind>:<id>`` holds ``(token, object)``, ``<kind>:<id>:token`` the token."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.memory: ProcessMemory = ProcessMemory(
            f"cache:{kind}", seconds=lambda: settings.CACHE_LOCAL_SECONDS, max_entries=MEMORY_ENTRIES, only_while_listening=True
        )

    def get_or_load(
        self, object_id: uuid.UUID, load: Callable[[], T | None], *, fresh: Callable[[T], bool] | None = None
    ) -> T | None:
        """The cached object, or ``load()`` stored for next time (nothing is cached for None).

        ``fresh``: whether a cached object still holds (for one that goes out of date with time, not
        only with a change); one that does not counts as a miss.
        """
        token_key, entry_key = self._token_key(object_id), self._entry_key(object_id)
        remembered = self.memory.recall(entry_key)
        if remembered is not None and (fresh is None or fresh(remembered)):
            return remembered
        since_generation = self.memory.generation()
        try:
            _replace_unreplaced_tokens()
            found = cache.get_many([token_key, entry_key])
            token, entry = found.get(token_key), found.get(entry_key)
            if token is not None and entry is not None and entry[0] == token and (fresh is None or fresh(entry[1])):
                self.memory.remember(entry_key, entry[1], since_generation=since_generation)
                return entry[1]
            # Before loading: a change that commits while we load replaces this token, so our entry is never served.
            token = token or self._new_token(token_key)
        except Exception as exc:  # noqa: BLE001 - the cache is away: read from the database
            logger.warning("cache unavailable, reading from the database: %s", exc.__class__.__name__)
            return load()
        value = load()
        if value is not None:
            try:
                cache.set(entry_key, (token, value), ENTRY_SECONDS)
            except Exception as exc:  # noqa: BLE001 - not cached this time
                logger.warning("could not cache a read: %s", exc.__class__.__name__)
            else:
                self.memory.remember(entry_key, value, since_generation=since_generation)
        return value

    def forget_on_commit(self, object_id: uuid.UUID) -> None:
        """Invalidate the object's entry once the current transaction commits (nothing if it rolls back)."""
        after_commit(lambda: self._forget(object_id), what=f"invalidate a cached {self.kind}")

    def _forget(self, object_id: uuid.UUID) -> None:
        entry_key = self._entry_key(object_id)
        self.memory.forget(entry_key)  # this process at least, whatever Redis does next
        _replace_token(self._token_key(object_id), announcing=lambda redis: self.memory.announce_forget(entry_key, through=redis))

    def _new_token(self, token_key: str) -> str:
        """Start a token (a concurrent reader may start one first: theirs wins)."""
        cache.add(token_key, uuid.uuid4().hex, TOKEN_SECONDS)
        return cache.get(token_key) or ""

    def _entry_key(self, object_id: uuid.UUID) -> str:
        return f"{self.kind}:{object_id}"

    def _token_key(self, object_id: uuid.UUID) -> str:
        return f"{self.kind}:{object_id}:token"


def _replace_token(token_key: str, *, announcing: Callable[[Pipeline], None] | None = None) -> None:
    """Give the object a new token; what ``announcing`` queues goes in the same round trip."""
    together = get_redis_connection("default").pipeline(transaction=False)
    cache.set(token_key, uuid.uuid4().hex, TOKEN_SECONDS, client=together)
    if announcing is not None:
        announcing(together)
    try:
        together.execute()
    except Exception:
        _unreplaced_tokens.add(token_key)
        raise
    _unreplaced_tokens.discard(token_key)


def _replace_unreplaced_tokens() -> None:
    for token_key in list(_unreplaced_tokens):
        _replace_token(token_key)
