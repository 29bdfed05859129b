"""Issuing, revoking and checking API keys.

A key is checked in three places, nearest first: this process's memory (``common.apikeys.memory``), then
Redis (``API_KEY_CACHE_SECONDS``), then the database. Expiry is checked on every use, wherever the key
came from. Revoking drops the key from every process's memory (announced through Redis) and leaves a
refusal in Redis.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from common.apikeys import usage
from common.apikeys.caller import Caller
from common.apikeys.memory import accepted_keys
from common.apikeys.models import ApiKey
from common.errors import DomainError, ErrorCode

logger = logging.getLogger(__name__)


def hash_key(raw_key: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is safe (no dictionary to attack) and cheap per request.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def check_expiry(expires_at: datetime | None) -> None:
    """A key may never expire (None), or expire at a moment still to come."""
    if expires_at is not None and (timezone.is_naive(expires_at) or expires_at <= timezone.now()):
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            "an API key's expiry must be a moment in the future, with its time zone",
            errors=[{"field": "expires_at", "message": "must be in the future", "type": "expiry_not_in_future"}],
        )


def issue_api_key(*, name: str, scopes: list[str], created_by=None, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is shown once and never stored."""
    unknown = sorted(set(scopes) - set(settings.API_SCOPES))
    if unknown or not scopes:
        raise DomainError(
            ErrorCode.API_KEY_SCOPES_INVALID,
            f"unknown or missing scopes: {', '.join(unknown) or '(none given)'}; known: {', '.join(settings.API_SCOPES)}",
        )
    if not name.strip():
        raise DomainError(ErrorCode.API_KEY_NAME_REQUIRED)
    check_expiry(expires_at)
    raw_key = f"{settings.SERVICE_NAME[:2]}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name.strip(),
        prefix=raw_key[:10],
        key_hash=hash_key(raw_key),
        scopes=sorted(set(scopes)),
        created_by=created_by,
        expires_at=expires_at,
    )
    logger.info("API key %s issued (id %s, expires %s)", key.prefix, key.id, expires_at.isoformat() if expires_at else "never")
    return key, raw_key


def revoke_api_key(*, key: ApiKey) -> bool:
    """Revoke now, in every API process; False when Redis was away (the key may then work elsewhere
    for up to API_KEY_CACHE_SECONDS).

    The other processes are told before the caller's transaction commits, if there is one: that can
    only refuse the key a moment early, never accept it once revoked.
    """
    if ApiKey.objects.filter(id=key.id, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        logger.info("API key %s revoked (id %s)", key.prefix, key.id)
    key.refresh_from_db(fields=["revoked_at"])
    accepted_keys.forget(key.key_hash)
    try:
        # A refusal, not a deletion: a lookup that read the key just before cannot cache it again (it only `add`s).
        cache.set(_cache_key(key.key_hash), False, settings.API_KEY_CACHE_SECONDS)
        accepted_keys.announce_forget(key.key_hash)
    except Exception as exc:  # noqa: BLE001 - revoked in the database; the caches forget it in their own time
        logger.warning(
            "API key %s revoked, but not every process could be told (%s): it may work up to API_KEY_CACHE_SECONDS",
            key.prefix,
            exc.__class__.__name__,
        )
        return False
    return True


def authenticate(raw_key: str) -> Caller | None:
    """The caller behind a raw key, or None for an unknown, revoked or expired key."""
    digest = hash_key(raw_key)
    caller = accepted_keys.recall(digest) or _look_up(digest)
    if caller is None or caller.expired(timezone.now()):
        return None
    usage.record_use(caller)
    return caller


def _look_up(digest: str) -> Caller | None:
    """The key from Redis or the database, remembered by this process when accepted."""
    since_generation = accepted_keys.generation()
    caller = _cached_caller(digest)
    if caller is None:
        key = ApiKey.objects.filter(key_hash=digest, revoked_at__isnull=True).only("id", "name", "scopes", "expires_at").first()
        caller = Caller(key_id=key.id, name=key.name, scopes=frozenset(key.scopes), expires_at=key.expires_at) if key else False
        _cache_caller(digest, caller)
    if not caller:
        return None
    accepted_keys.remember(digest, caller, since_generation=since_generation)
    return caller


def _cached_caller(digest: str) -> Caller | bool | None:
    """The cached lookup (False: no such key, or revoked), or None when not cached or the cache is away."""
    try:
        return cache.get(_cache_key(digest))
    except Exception as exc:  # noqa: BLE001 - the cache only spares a query: ask the database
        logger.warning("API key cache unavailable: %s", exc.__class__.__name__)
        return None


def _cache_caller(digest: str, caller: Caller | bool) -> None:
    try:
        # `add`, never `set`: a revocation's refusal written since our read must win over what we read.
        cache.add(_cache_key(digest), caller, settings.API_KEY_CACHE_SECONDS)
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not cache an API key lookup: %s", exc.__class__.__name__)


def _cache_key(digest: str) -> str:
    return f"apikey:{digest}"
