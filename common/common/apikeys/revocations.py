"""Revocations told to every API process at once, through Redis pub/sub.

Revoking publishes the key's hash; a listener thread in each API process (started on its first key
lookup, so after gunicorn forks) drops the key from the process's memory (``common.apikeys.memory``).
Pub/sub reaches only the listeners subscribed at that moment, so every (re)subscription forgets the
whole memory: whatever was missed meanwhile is looked up again. While the listener is not subscribed,
the memory is trusted only for ``API_KEY_LOCAL_CACHE_SECONDS``, as it would be without it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.core.cache import cache
from django_redis import get_redis_connection

from common.apikeys import memory

logger = logging.getLogger(__name__)

_WAIT_SECONDS = 1.0  # one wait for a message
_PING_SECONDS = 5.0  # a quiet subscription is pinged this often,
_SILENCE_SECONDS = 15.0  # and given up when Redis said nothing this long (a connection dead without a reset)
_RETRY_SECONDS = 1.0
_FIRST_SUBSCRIPTION_WAIT_SECONDS = 1.0

_started = False
_start_lock = threading.Lock()
_subscribed = threading.Event()
_failing = False


def publish(digest: str) -> None:
    """Tell every API process of this service that the key with this hash is revoked (raises when Redis is away)."""
    get_redis_connection("default").publish(_channel(), digest)


def ensure_listening() -> None:
    """Start this process's listener on its first key lookup.

    The first lookup waits a moment for the subscription, which forgets the memory, so that it comes
    before the first key is remembered rather than just after.
    """
    global _started
    if _started:
        return
    with _start_lock:
        if _started:
            return
        threading.Thread(target=_listen, name="api-key-revocations", daemon=True).start()
        _started = True
    _subscribed.wait(_FIRST_SUBSCRIPTION_WAIT_SECONDS)


def _listen() -> None:
    global _failing
    while True:
        try:
            _listen_until_lost()
        except Exception as exc:  # noqa: BLE001 - Redis is away: the memory falls back to its time limit
            if not _failing:
                logger.warning(
                    "not listening for API key revocations (%s): this process trusts a key it accepted "
                    "for at most API_KEY_LOCAL_CACHE_SECONDS",
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
        # Also after redis-py reconnected by itself: revocations published meanwhile were missed.
        memory.forget_all()
        _subscribed.set()
        if _failing:
            logger.info("listening for API key revocations again")
            _failing = False
    elif message["type"] == "message":
        data = message["data"]
        memory.forget(data.decode() if isinstance(data, bytes) else data)


def _channel() -> str:
    # Pub/sub channels are server-wide, not per database: the name carries the cache's key prefix and database.
    database = get_redis_connection("default").connection_pool.connection_kwargs.get("db", 0)
    return cache.make_key(f"apikey:revoked:{database}")


def _start_afresh_after_fork() -> None:
    """A thread does not survive a fork: a forked child (a gunicorn worker) starts its own listener."""
    global _started, _start_lock, _subscribed
    _started = False
    _start_lock = threading.Lock()
    _subscribed = threading.Event()


os.register_at_fork(after_in_child=_start_afresh_after_fork)
