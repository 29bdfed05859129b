"""Rate limits of the API: per API key and per client address, reads and writes counted apart.

Each counter is a fixed window in Redis that starts with its first request, shared by every API
process: ``INCR`` counts, ``PEXPIRE`` on the first request starts the window, ``PTTL`` says when it
ends, in one Lua script (Redis runs a script alone, so the count is atomic and a window always
expires): one round trip for the key's and the address's counters together. A request past either
limit is answered 429 ``RATE_LIMITED`` with ``Retry-After``, the seconds until that window ends.

Reads are the safe methods (every ``*:read`` endpoint is a GET) and writes the rest (every
``*:write`` endpoint). A request without a valid key counts against its address only
(``common.api`` answers its 401 as 429 once the address is past its limit, so guessing keys is
slowed down too, and tells nothing once refused).

With Redis away the limiter lets requests through (logged, without the key or the address): refusing
them would turn a cache outage into an API outage.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass

import redis.exceptions
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django_redis import get_redis_connection
from ninja.throttling import BaseThrottle

from common.addresses import client_address

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WINDOW_SECONDS = "API_RATE_LIMIT_WINDOW_SECONDS"
FAIL_OPEN_WARNING_SECONDS = 10.0  # at most one warning per process this often while Redis is away
# One more request on each counter (KEYS): its count and the milliseconds left in its window, which the
# counter's first request starts (ARGV[1] seconds). Half the time of the same commands in a MULTI.
COUNT_SCRIPT = """
local replies = {}
for _, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local left = redis.call('PTTL', key)
  if left < 0 then
    left = tonumber(ARGV[1]) * 1000
    redis.call('PEXPIRE', key, left)
  end
  replies[#replies + 1] = count
  replies[#replies + 1] = left
end
return replies
"""


@dataclass(frozen=True)
class Group:
    """Endpoints counted together, and the settings that hold their limits per window."""

    name: str
    per_key: str
    per_address: str


READS = Group("read", per_key="API_RATE_LIMIT_READS_PER_KEY", per_address="API_RATE_LIMIT_READS_PER_ADDRESS")
WRITES = Group("write", per_key="API_RATE_LIMIT_WRITES_PER_KEY", per_address="API_RATE_LIMIT_WRITES_PER_ADDRESS")


class RateLimit(BaseThrottle):
    """django-ninja's throttle hook: counts each request against its key and its address.

    ``group`` fixes the limits of the operations it is given to (``throttle=RateLimit(WRITES)`` for a
    costly read); without it, the request's method chooses (reads or writes).
    """

    def __init__(self, group: Group | None = None) -> None:
        self.group = group
        self._retry_after = threading.local()  # ninja asks wait() right after allow_request(), in the same thread

    def allow_request(self, request: HttpRequest) -> bool:
        key_id = getattr(getattr(request, "auth", None), "key_id", None)
        self._retry_after.seconds = count_request(request, self.group or group_of(request), key_id=key_id)
        return self._retry_after.seconds is None

    def wait(self) -> float | None:
        return getattr(self._retry_after, "seconds", None)


def group_of(request: HttpRequest) -> Group:
    return READS if request.method in READ_METHODS else WRITES


def count_request(request: HttpRequest, group: Group, *, key_id: int | None) -> int | None:
    """Count the request against its address's limit (and its key's, if any): the seconds to wait when
    it is past one of them, else None (also when Redis is away)."""
    counters = [(f"ratelimit:{group.name}:address:{counted_address(request)}", _setting(group.per_address))]
    if key_id is not None:
        counters.append((f"ratelimit:{group.name}:key:{key_id}", _setting(group.per_key)))
    try:
        counts = _increment([name for name, _ in counters], window=_setting(WINDOW_SECONDS))
    except redis.exceptions.RedisError as exc:
        _warn_failing_open(exc)
        return None
    waits = [seconds for (count, seconds), (_, limit) in zip(counts, counters, strict=True) if count > limit]
    return max(waits, default=None)


def counted_address(request: HttpRequest) -> str:
    """The client's address as counted: an IPv6 client by its /64, which one host usually holds."""
    address = client_address(request)
    if address is None:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def _increment(names: list[str], *, window: int) -> list[tuple[int, int]]:
    """Count one more request on each counter: its count and the seconds left in its window."""
    script = get_redis_connection().register_script(COUNT_SCRIPT)
    replies = script(keys=[cache.make_key(name) for name in names], args=[window])
    return [(count, max(1, math.ceil(left / 1000))) for count, left in zip(replies[::2], replies[1::2], strict=True)]


def _setting(name: str) -> int:
    return getattr(settings, name)


_last_warning = 0.0


def _warn_failing_open(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= FAIL_OPEN_WARNING_SECONDS:
        _last_warning = now
        logger.warning("rate limits not applied, Redis is unavailable: %s", exc.__class__.__name__)
