"""Issuing, revoking and checking API keys."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from common.apikeys.models import ApiKey
from common.errors import DomainError, ErrorCode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: the key's id, name and scopes (what the request may do)."""

    key_id: int
    name: str
    scopes: frozenset[str]


def hash_key(raw_key: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is safe (no dictionary to attack) and cheap per request.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def issue_api_key(*, name: str, scopes: list[str], created_by=None) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is shown once and never stored."""
    unknown = sorted(set(scopes) - set(settings.API_SCOPES))
    if unknown or not scopes:
        raise DomainError(
            ErrorCode.API_KEY_SCOPES_INVALID,
            f"unknown or missing scopes: {', '.join(unknown) or '(none given)'}; known: {', '.join(settings.API_SCOPES)}",
        )
    if not name.strip():
        raise DomainError(ErrorCode.API_KEY_NAME_REQUIRED)
    raw_key = f"{settings.SERVICE_NAME[:2]}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name.strip(), prefix=raw_key[:10], key_hash=hash_key(raw_key), scopes=sorted(set(scopes)), created_by=created_by
    )
    return key, raw_key


def revoke_api_key(*, key: ApiKey) -> None:
    """Revoke now; processes that checked the key in the last API_KEY_LOCAL_CACHE_SECONDS still accept it that long."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    cache.delete(_cache_key(key.key_hash))
    _recently_accepted.pop(key.key_hash, None)


# Keys accepted by this process in the last few seconds: most requests then need no Redis round trip
# for their key. Only valid keys are kept (random keys cannot fill it), and never more than a few.
_recently_accepted: dict[str, tuple[float, Caller]] = {}
_RECENTLY_ACCEPTED_MAX = 256


def authenticate(raw_key: str) -> Caller | None:
    """The caller behind a raw key, or None for an unknown or revoked key.

    Cached in this process for API_KEY_LOCAL_CACHE_SECONDS, then in Redis for API_KEY_CACHE_SECONDS
    (revoking clears Redis at once).
    """
    digest = hash_key(raw_key)
    recent = _recently_accepted.get(digest)
    if recent is not None and recent[0] > time.monotonic():
        return recent[1]
    caller = _cached_caller(digest)
    if caller is None:
        key = ApiKey.objects.filter(key_hash=digest, revoked_at__isnull=True).only("id", "name", "scopes").first()
        caller = Caller(key_id=key.id, name=key.name, scopes=frozenset(key.scopes)) if key else False
        _cache_caller(digest, caller)
    if caller and settings.API_KEY_LOCAL_CACHE_SECONDS > 0:
        if len(_recently_accepted) >= _RECENTLY_ACCEPTED_MAX:
            _recently_accepted.clear()
        _recently_accepted[digest] = (time.monotonic() + settings.API_KEY_LOCAL_CACHE_SECONDS, caller)
    return caller or None


def _cached_caller(digest: str) -> Caller | bool | None:
    """The cached lookup (False: no such key), or None when not cached or the cache is away."""
    try:
        return cache.get(_cache_key(digest))
    except Exception as exc:  # noqa: BLE001 - the cache only spares a query: ask the database
        logger.warning("API key cache unavailable: %s", exc.__class__.__name__)
        return None


def _cache_caller(digest: str, caller: Caller | bool) -> None:
    try:
        cache.set(_cache_key(digest), caller, settings.API_KEY_CACHE_SECONDS)
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not cache an API key lookup: %s", exc.__class__.__name__)


def _cache_key(digest: str) -> str:
    return f"apikey:{digest}"
