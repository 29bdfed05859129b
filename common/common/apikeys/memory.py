"""Keys this API process accepted a moment ago: most requests then need no Redis round trip for their key.

An entry is trusted at most ``API_KEY_LOCAL_CACHE_SECONDS``; a revocation drops it sooner (the listener in
``common.apikeys.revocations``). Only accepted keys are kept, and never more than a few, so random keys
cannot fill the memory.
"""

from __future__ import annotations

import os
import threading
import time

from django.conf import settings

from common.apikeys.caller import Caller

_MAX_ENTRIES = 256

_entries: dict[str, tuple[float, Caller]] = {}  # key hash -> (trusted until, on the monotonic clock; caller)
_lock = threading.Lock()
# Counts what was forgotten: a lookup that began before a revocation arrived must not store what it read.
_generation = 0


def recall(digest: str) -> Caller | None:
    """The caller behind the key hash, while this process may still trust what it saw."""
    entry = _entries.get(digest)
    if entry is None or entry[0] <= time.monotonic():
        return None
    return entry[1]


def generation() -> int:
    """Taken before a lookup and handed to :func:`remember` after it."""
    return _generation


def remember(digest: str, caller: Caller, *, since_generation: int) -> None:
    """Keep an accepted key, unless something was forgotten since the lookup began (it may be this key)."""
    seconds = settings.API_KEY_LOCAL_CACHE_SECONDS
    if seconds <= 0:
        return
    with _lock:
        if _generation != since_generation:
            return
        if len(_entries) >= _MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = (time.monotonic() + seconds, caller)


def forget(digest: str) -> None:
    global _generation
    with _lock:
        _generation += 1
        _entries.pop(digest, None)


def forget_all() -> None:
    """After revocations may have been missed (the listener was not subscribed)."""
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def _start_afresh_after_fork() -> None:
    """A forked child (a gunicorn worker) starts with an empty memory and a lock no other thread holds."""
    global _lock
    _lock = threading.Lock()
    _entries.clear()


os.register_at_fork(after_in_child=_start_afresh_after_fork)
