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

Only a change of an object some process may keep is announced: every announcement wakes every
listening process (about 0.2 ms of CPU each), and most changes are of objects nobody read lately.
A process marks the object (``<kind>:<id>:kept``, for longer than its memory trusts the entry) in
the round trip that looks the entry up, before it keeps anything; a change replaces the token and
takes the mark away, announcing only when there was one, in one Redis script. A reader whose mark
came after the change read the new token, so it cannot keep the old object.

The cache only speeds reads up: with Redis away a read loads from the database, and a change still
commits and answers. A token that could not be replaced is remembered by the process and replaced
before its next use of the cache; until then other processes may serve the old entry, at most
``ENTRY_SECONDS``.
"""

from __future__ import annotations

import functools
import logging
import math
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.commands.core import Script

from common.process_memory import ProcessMemory, announcement
from common.transactions import after_commit

logger = logging.getLogger(__name__)

ENTRY_SECONDS = 300
MEMORY_ENTRIES = 10_000  # per kind and process: a few MB of answers
TOKEN_SECONDS = 24 * 3600  # a lost token only costs one miss: the new one is random, never an old one

T = TypeVar("T")

# What a change does in Redis: a new token, and an announcement only if a process marked the object as kept.
_CHANGE_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if redis.call('DEL', KEYS[2]) == 1 then
    redis.call('PUBLISH', ARGV[3], ARGV[4])
end
"""


class TokenCache:
    """Cached objects of one kind: ``<kind>:<id>`` holds ``(token, object)``, ``<kind>:<id>:token`` the token,
    ``<kind>:<id>:kept`` marks it as kept in some process's memory."""

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
        entry_key = self._entry_key(object_id)
        remembered = self.memory.recall(entry_key)
        if remembered is not None and (fresh is None or fresh(remembered)):
            return remembered
        since_generation, started = self.memory.generation(), time.monotonic()
        try:
            _replace_unreplaced_tokens()
            token, entry = self._look_up(object_id, marking=self.memory.keeping())
            if token is not None and entry is not None and entry[0] == token and (fresh is None or fresh(entry[1])):
                self.memory.remember(entry_key, entry[1], since_generation=since_generation, trusted_from=started)
                return entry[1]
            # Before loading: a change that commits while we load replaces this token, so our entry is never served.
            token = token or self._new_token(object_id)
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
                self.memory.remember(entry_key, value, since_generation=since_generation, trusted_from=started)
        return value

    def forget_on_commit(self, object_id: uuid.UUID) -> None:
        """Invalidate the object's entry once the current transaction commits (nothing if it rolls back)."""
        after_commit(lambda: self._forget(object_id), what=f"invalidate a cached {self.kind}")

    def _forget(self, object_id: uuid.UUID) -> None:
        self.memory.forget(self._entry_key(object_id))  # this process at least, whatever Redis does next
        self._replace_token(object_id)

    def _look_up(self, object_id: uuid.UUID, *, marking: bool) -> tuple[Any, Any]:
        """The object's token and entry in one round trip; ``marking``: marked as kept first, for a second
        longer than the memory trusts what it keeps (counted from before the round trip)."""
        together = get_redis_connection("default").pipeline(transaction=False)
        if marking:
            together.set(cache.make_key(self._mark_key(object_id)), 1, ex=math.ceil(self.memory.seconds()) + 1)
        together.mget([cache.make_key(self._token_key(object_id)), cache.make_key(self._entry_key(object_id))])
        token, entry = together.execute()[-1]
        return tuple(None if value is None else cache.client.decode(value) for value in (token, entry))

    def _new_token(self, object_id: uuid.UUID) -> int:
        """Start a token (a concurrent reader may start one first: theirs wins)."""
        token_key = self._token_key(object_id)
        cache.add(token_key, _new_token(), TOKEN_SECONDS)
        return cache.get(token_key) or 0

    def _replace_token(self, object_id: uuid.UUID) -> None:
        """Give the object a new token and, if a process marked it as kept, announce its change: one round
        trip. A failure (Redis away) is remembered, and the replacement made before this process's next read."""
        channel, message = announcement(self.memory.name, self._entry_key(object_id))
        keys = [cache.make_key(self._token_key(object_id)), cache.make_key(self._mark_key(object_id))]
        try:
            _replace_token_script()(keys=keys, args=[_new_token(), TOKEN_SECONDS, channel, message])
        except Exception:
            _unreplaced_tokens.add((self, object_id))
            raise
        _unreplaced_tokens.discard((self, object_id))

    def _entry_key(self, object_id: uuid.UUID) -> str:
        return f"{self.kind}:{object_id}"

    def _token_key(self, object_id: uuid.UUID) -> str:
        return f"{self.kind}:{object_id}:token"

    def _mark_key(self, object_id: uuid.UUID) -> str:
        return f"{self.kind}:{object_id}:kept"


# Objects whose token could not be replaced (Redis away), replaced before this process uses the cache again.
_unreplaced_tokens: set[tuple[TokenCache, uuid.UUID]] = set()


def _replace_unreplaced_tokens() -> None:
    for cached, object_id in list(_unreplaced_tokens):
        cached._replace_token(object_id)


def _new_token() -> int:
    """A random token; an integer, which the cache stores as it is, so a Redis script can write it."""
    return secrets.randbits(62)


@functools.cache
def _replace_token_script() -> Script:
    return get_redis_connection("default").register_script(_CHANGE_SCRIPT)
