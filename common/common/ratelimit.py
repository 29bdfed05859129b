"""Rate limits of the API: per API key and per client address, reads and writes counted apart.

Each counter is a fixed window in Redis that starts with its first request, shared by every API
process. A process does not ask Redis for every request: it takes a *lease* of a few requests at
once (``INCRBY``; at most a fiftieth of the limit, at most 32, one for a limit under 100) and spends
it in memory until the window ends. Redis counts what was leased, so the API never lets more than
the limit through; what a process leased and did not spend when the window ends is lost, so a
limit may refuse a little early (at most a lease per process and counter). One Lua script (Redis
runs a script alone: the count is atomic and a window always expires) leases on the key's and the
address's counters together, in one round trip. A request past either limit is answered 429
``RATE_LIMITED`` with ``Retry-After``, the seconds until that window ends.

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
MAX_LEASE = 32
LEASE_SHARE = 50  # a lease is at most this fraction of the limit
# A lease of ARGV[i + 1] requests on each counter (KEYS[i]): its count after it and the milliseconds left in
# its window, which the counter's first lease starts (ARGV[1] seconds).
COUNT_SCRIPT = """
local replies = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCRBY', key, tonumber(ARGV[i + 1]))
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


@dataclass
class _Lease:
    """Requests this process may still let through on one counter, until its window ends."""

    remaining: int
    ends_at: float  # time.monotonic()
    last: bool  # the counter reached its limit with this lease: no other until the window ends

    def spent(self, now: float) -> bool:
        """Nothing left to spend, and another lease may be had (this one's window is over, or it was not the last)."""
        return self.ends_at <= now or (self.remaining == 0 and not self.last)

    def seconds_left(self, now: float) -> int:
        return max(1, math.ceil(self.ends_at - now))


_leases: dict[tuple[str, int], _Lease] = {}  # by counter name and limit: a new limit starts a new lease
_leases_lock = threading.Lock()
MAX_LEASES = 10_000  # past this many counters (many client addresses), the ended leases are dropped


def count_request(request: HttpRequest, group: Group, *, key_id: int | None) -> int | None:
    """Count the request against its address's limit (and its key's, if any): the seconds to wait when
    it is past one of them, else None (also when Redis is away)."""
    counters = [(f"ratelimit:{group.name}:address:{counted_address(request)}", _setting(group.per_address))]
    if key_id is not None:
        counters.append((f"ratelimit:{group.name}:key:{key_id}", _setting(group.per_key)))
    now = time.monotonic()
    with _leases_lock:  # one thread at a time takes from the process's leases (and renews them)
        if len(_leases) > MAX_LEASES:
            for counter in [counter for counter, lease in _leases.items() if lease.ends_at <= now]:
                del _leases[counter]
        missing = [counter for counter in counters if counter not in _leases or _leases[counter].spent(now)]
        if missing:
            try:
                _leases.update(_lease(missing, window=_setting(WINDOW_SECONDS), now=now))
            except redis.exceptions.RedisError as exc:
                _warn_failing_open(exc)
                return None
        waits = []
        for counter in counters:
            lease = _leases[counter]
            if lease.remaining > 0:
                lease.remaining -= 1
            else:
                waits.append(lease.seconds_left(now))
    return max(waits, default=None)


def forget_leases() -> None:
    """Drop this process's leases (their counters were cleared)."""
    with _leases_lock:
        _leases.clear()


def _lease(counters: list[tuple[str, int]], *, window: int, now: float) -> dict[tuple[str, int], _Lease]:
    """Lease requests on each counter, in one round trip: what each granted (none past its limit) until its window ends."""
    sizes = [max(1, min(MAX_LEASE, limit // LEASE_SHARE)) for _, limit in counters]
    script = get_redis_connection().register_script(COUNT_SCRIPT)
    replies = script(keys=[cache.make_key(name) for name, _ in counters], args=[window, *sizes])
    fresh = {}
    for (name, limit), size, count, left in zip(counters, sizes, replies[::2], replies[1::2], strict=True):
        granted = max(0, min(size, limit - (count - size)))
        fresh[(name, limit)] = _Lease(remaining=granted, ends_at=now + left / 1000, last=count >= limit)
    return fresh


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


def _setting(name: str) -> int:
    return getattr(settings, name)


_last_warning = 0.0


def _warn_failing_open(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= FAIL_OPEN_WARNING_SECONDS:
        _last_warning = now
        logger.warning("rate limits not applied, Redis is unavailable: %s", exc.__class__.__name__)
