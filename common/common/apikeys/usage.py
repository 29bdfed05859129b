"""When each key was last used, without a database write per request.

A use is written at most once a minute per key across processes (a Redis ``add`` decides which process
writes), and each process asks Redis at most once a minute per key; so ``last_used_at`` is at most two
minutes behind. Recording a use never fails the request: a failure is logged and the request goes on.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.utils import timezone

from common.apikeys.caller import Caller
from common.apikeys.models import ApiKey

logger = logging.getLogger(__name__)

RECORD_EVERY_SECONDS = 60
_MAX_KEYS = 1024

_next_record: dict[int, float] = {}  # key id -> when (monotonic clock) this process next records a use


def record_use(caller: Caller) -> None:
    now = time.monotonic()
    if _next_record.get(caller.key_id, 0.0) > now:
        return
    if len(_next_record) >= _MAX_KEYS:
        _next_record.clear()
    _next_record[caller.key_id] = now + RECORD_EVERY_SECONDS
    if _first_this_minute(caller.key_id):
        _write(caller.key_id)


def _first_this_minute(key_id: int) -> bool:
    try:
        return cache.add(_cache_key(key_id), 1, RECORD_EVERY_SECONDS)
    except Exception as exc:  # noqa: BLE001 - without Redis each process writes, still once a minute per key
        logger.warning("API key use not coordinated through the cache: %s", exc.__class__.__name__)
        return True


def _write(key_id: int) -> None:
    try:
        with transaction.atomic():  # a savepoint inside a transaction: a failure here undoes nothing else
            ApiKey.objects.filter(id=key_id).update(last_used_at=timezone.now())
    except DatabaseError as exc:
        logger.warning("could not record the last use of API key %s: %s", key_id, exc.__class__.__name__)


def _cache_key(key_id: int) -> str:
    return f"apikey:used:{key_id}"
