"""What a process saw a moment ago, kept in its memory, and forgotten in every process as soon as any
process announces a change: most reads of a hot object then need no round trip at all.

A :class:`ProcessMemory` is a small map of one kind of object (accepted API keys, cached answers).
An entry is trusted for at most the memory's ``seconds``; a change announced with
:meth:`ProcessMemory.announce_forget` (a Redis pub/sub message) makes every process drop it sooner:
a listener thread in each process (started on its first lookup, so after the API server forks its workers) receives it.

Pub/sub reaches only the listeners subscribed at that moment, so every (re)subscription forgets
everything: whatever was missed meanwhile is read again. A memory made ``only_while_listening``
serves nothing while its process is not subscribed; the others fall back to their time limit. A
lookup that began before a forget arrived must not store what it read: it takes the memory's
:meth:`~ProcessMemory.generation` before reading and hands it to :meth:`~ProcessMemory.remember`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.cache import cache
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

_WAIT_SECONDS = 1.0  # one wait for a message
_PING_SECONDS = 5.0  # a quiet subscription is pinged this often,
_SILENCE_SECONDS = 15.0  # and given up when Redis said nothing this long (a connection dead without a reset)
_RETRY_SECONDS = 1.0
_FIRST_SUBSCRIPTION_WAIT_SECONDS = 1.0
_SEPARATOR = " "  # between a memory's name and the key it forgets, in a message

_memories: dict[str, ProcessMemory] = {}


class ProcessMemory(Generic[T]):
    """Objects of one kind this process read a moment ago, by key."""

    def __init__(
        self,
        name: str,
        *,
        seconds: Callable[[], float],
        max_entries: int,
        only_while_listening: bool = False,
        announced: bool = True,
    ) -> None:
        """``announced=False``: no announcement reaches this memory (its process does not start a
        listener for it), so an entry is trusted for the memory's ``seconds`` alone."""
        if _SEPARATOR in name:
            raise ValueError(f"a memory's name has no {_SEPARATOR!r}")
        if name in _memories:  # the listener would make only one of the two forget
            raise ValueError(f"there is already a memory named {name!r}")
        self.name = name
        self.seconds = seconds
        self.max_entries = max_entries
        self.only_while_listening = only_while_listening
        self.announced = announced
        self._entries: dict[str, tuple[float, T]] = {}  # key -> (trusted until, on the monotonic clock; value)
        self._lock = threading.Lock()
        self._generation = 0  # counts what was forgotten
        _memories[name] = self

    def recall(self, key: str) -> T | None:
        """The value kept under ``key``, while this process may still trust it."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic() or (self.only_while_listening and not listening()):
            return None
        return entry[1]

    def generation(self) -> int:
        """Taken before a lookup and handed to :meth:`remember` after it (starts this process's listener)."""
        if self.announced and self.seconds() > 0:
            ensure_listening()
        return self._generation

    def keeping(self) -> bool:
        """Whether :meth:`remember` would keep a value now."""
        return self.seconds() > 0 and (listening() or not self.only_while_listening)

    def remember(self, key: str, value: T, *, since_generation: int, trusted_from: float | None = None) -> None:
        """Keep ``value``, unless something was forgotten since the lookup began (it may be this key).

        ``trusted_from``: when the lookup began (``time.monotonic()``), to count the memory's seconds
        from then rather than from now."""
        if not self.keeping():
            return
        trusted_until = (time.monotonic() if trusted_from is None else trusted_from) + self.seconds()
        with self._lock:
            if self._generation != since_generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (trusted_until, value)

    def recall_or_read(self, key: str, read: Callable[[], T]) -> T:
        """The value kept under ``key``, else what ``read()`` returns, kept from now on (unless something
        was forgotten while it read)."""
        value = self.recall(key)
        if value is None:
            since = self.generation()
            value = read()
            self.remember(key, value, since_generation=since)
        return value

    def forget(self, key: str) -> None:
        """Drop ``key`` in this process."""
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)

    def forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def announce_forget(self, key: str) -> None:
        """Make every process drop ``key`` (this one too, when the announcement comes back to it); raises
        when Redis is away. A change forgets it here first (:meth:`forget`), where Redis cannot fail it."""
        announce_forget(self.name, key)

    def _start_afresh(self) -> None:
        self._lock = threading.Lock()
        self._entries.clear()


def announce_forget(memory: str, key: str) -> None:
    """Tell every process listening (this one included) to drop ``key`` from the memory named ``memory``."""
    get_redis_connection("default").publish(*announcement(memory, key))


def announcement(memory: str, key: str) -> tuple[str, str]:
    """The channel and the message that make every process listening drop ``key`` from the memory named
    ``memory``, for a caller that publishes it itself (from a Redis script)."""
    return _channel(), f"{memory}{_SEPARATOR}{key}"


def forget_everything() -> None:
    """Empty every memory of this process."""
    for memory in list(_memories.values()):
        memory.forget_all()


_started = False
_start_lock = threading.Lock()
_subscribed = threading.Event()
_failing = False


def listening() -> bool:
    """Whether this process hears announcements now (its listener is subscribed)."""
    return _subscribed.is_set()


def ensure_listening() -> None:
    """Start this process's listener on its first lookup.

    The first lookup waits a moment for the subscription, which forgets everything, so that it comes
    before the first value is remembered rather than just after.
    """
    global _started
    if _started:
        return
    with _start_lock:
        if _started:
            return
        threading.Thread(target=_listen, name="process-memory-forgets", daemon=True).start()
        _started = True
    _subscribed.wait(_FIRST_SUBSCRIPTION_WAIT_SECONDS)


def _listen() -> None:
    global _failing
    while True:
        try:
            _listen_until_lost()
        except Exception as exc:  # noqa: BLE001 - Redis is away: memories fall back to their time limit
            if not _failing:
                logger.warning(
                    "not listening for changes announced by other processes (%s): this process trusts what it "
                    "remembers only for each memory's time limit",
                    exc.__class__.__name__,
                )
            _failing = True
        _subscribed.clear()
        time.sleep(_RETRY_SECONDS)


def _listen_until_lost() -> None:
    pubsub = get_redis_connection("default").pubsub()
    try:
        pubsub.subscribe(_channel())
        heard = pinged = time.monotonic()
        while True:
            message = pubsub.get_message(timeout=_WAIT_SECONDS)
            now = time.monotonic()
            if message is not None:
                heard = now
                _receive(message)
            elif now - heard > _SILENCE_SECONDS:
                raise ConnectionError("Redis stopped answering the subscription")
            elif now - max(heard, pinged) >= _PING_SECONDS:
                pubsub.ping()
                pinged = now
    finally:
        pubsub.close()


def _receive(message: dict[str, Any]) -> None:
    global _failing
    if message["type"] == "subscribe":
        # Also after redis-py reconnected by itself: what was announced meanwhile was missed.
        forget_everything()
        _subscribed.set()
        if _failing:
            logger.info("listening for changes announced by other processes again")
            _failing = False
    elif message["type"] == "message":
        data = message["data"]
        name, _, key = (data.decode() if isinstance(data, bytes) else data).partition(_SEPARATOR)
        memory = _memories.get(name)
        if memory is not None:
            memory.forget(key)


def _channel() -> str:
    # Pub/sub channels are server-wide, not per database: the name carries the cache's key prefix and database.
    database = get_redis_connection("default").connection_pool.connection_kwargs.get("db", 0)
    return cache.make_key(f"forget:{database}")


def _start_afresh_after_fork() -> None:
    """A thread does not survive a fork: a forked child (an API worker) starts with empty memories
    and its own listener."""
    global _started, _start_lock, _subscribed
    _started = False
    _start_lock = threading.Lock()
    _subscribed = threading.Event()
    for memory in _memories.values():
        memory._start_afresh()


os.register_at_fork(after_in_child=_start_afresh_after_fork)
