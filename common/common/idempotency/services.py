"""Idempotent POSTs (Stripe's semantics): the same key and body get the first answer again, byte for byte;
the same key with another body is refused; a server error leaves no trace, so the client may retry.

Usable by any endpoint of any service: the view passes the key and an operation that returns
``(status, JSON-ready body)``; the record and the operation's writes commit in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from common.errors import DomainError, ErrorCode
from common.idempotency.models import IdempotencyRecord
from common.transactions import all_or_nothing, ends_with_this_block, execute_and_commit

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")

Operation = Callable[[], tuple[int, Any]]


def respond_idempotently(request: HttpRequest, *, key: str | None, operation: Operation, required: bool = True) -> HttpResponse:
    """Run ``operation`` and keep its answer under the key; answer every later request carrying that key
    with it.

    The operation and its answer commit together, in a transaction the first error ends, so the
    operation's changes take no savepoints. The answer is kept last, in one statement that also
    commits when the request's transaction is the outermost (else ``INSERT ... ON CONFLICT DO
    NOTHING``): a key answered already, or meanwhile by a concurrent duplicate (the insert waits for
    that one's commit), rolls this run back and replays that answer, so the operation's effects commit
    once per key. Refusals of the business (4xx :class:`DomainError`) roll their transaction back and
    are then kept like successes; anything else leaves no trace, unless the key has an answer
    already, which is replayed.
    """
    if not key:
        if required:
            raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REQUIRED, f"This request needs an {KEY_HEADER} header.")
        return _response(*_encoded(*operation()))
    if len(key) > MAX_KEY_LENGTH or not _PRINTABLE_ASCII.fullmatch(key):
        raise DomainError(ErrorCode.IDEMPOTENCY_KEY_INVALID, f"{KEY_HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.")
    scope = _scope(request)
    fingerprint = _fingerprint(request.body)
    refusal, answered = None, False
    try:
        with all_or_nothing():
            try:
                status, body = _encoded(*operation())
            except DomainError as exc:
                if exc.status >= 500:
                    raise
                refusal = exc
                transaction.set_rollback(True)  # what the operation wrote goes
            else:
                if ends_with_this_block():
                    answered = not _keep_and_commit(scope=scope, key=key, fingerprint=fingerprint, status=status, body=body)
                else:
                    answered = not _keep(scope=scope, key=key, fingerprint=fingerprint, status=status, body=body)
                if answered:
                    transaction.set_rollback(True)  # the key's answer stands, and this run's writes go
    except Exception:
        kept = _kept_answer_if_any(scope=scope, key=key, fingerprint=fingerprint)
        if kept is None:
            raise
        return kept
    if answered:
        return _replay(scope=scope, key=key, fingerprint=fingerprint)
    if refusal is not None:
        return _keep_refusal(refusal, scope=scope, key=key, fingerprint=fingerprint)
    return _response(status, body)


def _keep_refusal(refusal: DomainError, *, scope: str, key: str, fingerprint: str) -> HttpResponse:
    """Keep the refusal as the key's answer, in a transaction of its own (the operation's rolled back),
    unless the key has an answer already."""
    status, body = _encoded(refusal.status, refusal.body())
    with transaction.atomic():
        kept = _keep(scope=scope, key=key, fingerprint=fingerprint, status=status, body=body)
    if not kept:
        return _replay(scope=scope, key=key, fingerprint=fingerprint)
    return _response(status, body)


def purge_expired(*, older_than: timedelta | None = None) -> int:
    """Forget keys older than the retention period (``IDEMPOTENCY_KEY_RETENTION_HOURS``, 48 by default)."""
    retention = older_than or timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - retention).delete()
    return deleted


def _replay(*, scope: str, key: str, fingerprint: str) -> HttpResponse:
    """The key's answer (``IDEMPOTENCY_KEY_REUSED`` for another body)."""
    return _answer(IdempotencyRecord.objects.get(scope=scope, key=key), fingerprint=fingerprint)


def _kept_answer_if_any(*, scope: str, key: str, fingerprint: str) -> HttpResponse | None:
    """After a failed run: the key's answer if it has one (a retry whose run again failed), else None."""
    try:
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    except Exception:  # noqa: BLE001 - the database is away as well: the run's own error is the answer
        return None
    return None if record is None else _answer(record, fingerprint=fingerprint)


def _answer(record: IdempotencyRecord, *, fingerprint: str) -> HttpResponse:
    if record.fingerprint != fingerprint:
        raise DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED, f"This {KEY_HEADER} was used with another request body.")
    return _response(record.response_status, record.response_body, replayed=True)


# Keeps a key's answer; every value is a parameter.
_KEEP = f"""
    INSERT INTO {IdempotencyRecord._meta.db_table} (scope, key, fingerprint, response_status, response_body, created_at)
    VALUES (%s, %s, %s, %s, %s, now())
"""  # nosec B608 # only the model's own table name is interpolated
_KEY_TAKEN = "idempotency_key_unique_per_scope"


def _keep(*, scope: str, key: str, fingerprint: str, status: int, body: str) -> bool:
    """Keep the answer under the key; False when the key has one already (it stays)."""
    with connection.cursor() as cursor:
        cursor.execute(f"{_KEEP} ON CONFLICT (scope, key) DO NOTHING", [scope, key, fingerprint, status, body])
        return cursor.rowcount == 1


def _keep_and_commit(*, scope: str, key: str, fingerprint: str, status: int, body: str) -> bool:
    """Like :func:`_keep`, with the transaction's ``COMMIT`` in the same message: the key is the last
    thing an idempotent request writes. A key answered already refuses the insert, so nothing commits
    (False: the block rolls back)."""
    try:
        execute_and_commit(_KEEP, [scope, key, fingerprint, status, body])
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) != _KEY_TAKEN:
            raise
        return False
    return True


def _scope(request: HttpRequest) -> str:
    caller = getattr(request, "auth", None)
    key_id = getattr(caller, "key_id", None)
    if key_id is None:
        raise RuntimeError("idempotent endpoints need an API key caller (ApiKeyAuth)")
    return f"{key_id}:{request.method}:{request.path}"[:500]


def _fingerprint(raw_body: bytes) -> str:
    """SHA-256 of the body as canonical JSON (key order and spacing do not matter); raw bytes if not JSON."""
    try:
        canonical = json.dumps(json.loads(raw_body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw_body
    return hashlib.sha256(canonical).hexdigest()


def _encoded(status: int, body: Any) -> tuple[int, str]:
    return status, json.dumps(body, cls=DjangoJSONEncoder)


def _response(status: int, body: str, *, replayed: bool = False) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response
