"""Transactions: where a service's change needs a savepoint, a commit sent with the last statement,
and side effects after commit.

:func:`atomic_change` is a service's change, all or nothing. Inside a transaction that the first
error ends anyway (:func:`all_or_nothing`, an idempotent request's), it takes no savepoint: two
round trips saved per change, where nobody could carry on after it failed.

Side effects after commit go through one helper (:func:`after_commit`): what runs after a change
committed never undoes the answer to it. A hook that raises inside Django's ``on_commit`` turns a
committed change into an error response and skips the hooks registered after it. Every hook here is
guarded: a failure is logged (by its kind, never its data) and the next hook still runs. What a hook
does must be safe to miss: each has a backstop (the outbox sweep, the limit-request sweep, the
cache's retried invalidation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction

logger = logging.getLogger(__name__)

_ended_by_any_error: ContextVar[bool] = ContextVar("ended_by_any_error", default=False)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """An atomic block that no error inside outlives: whatever raises in it, or ``set_rollback``, rolls
    all of it back, so the changes inside need no savepoints of their own (:func:`atomic_change`)."""
    with transaction.atomic():
        token = _ended_by_any_error.set(True)
        try:
            yield
        finally:
            _ended_by_any_error.reset(token)


def atomic_change() -> transaction.Atomic:
    """A service's change, all or nothing (``transaction.atomic()``); without a savepoint inside
    :func:`all_or_nothing`, whose transaction an error ends anyway."""
    return transaction.atomic(savepoint=not _ended_by_any_error.get())


def ends_with_this_block() -> bool:
    """Whether the atomic block the caller is in is the outermost: its end commits the transaction."""
    return len(connection.atomic_blocks) == 1


def execute_and_commit(statement: str, params: list) -> None:
    """Run the transaction's last statement and ``COMMIT`` in one message, a round trip less; the
    block's own commit then finds nothing to do, and the commit hooks run when it ends, as always.

    Only for the last statement of the outermost block (:func:`ends_with_this_block`). If the statement
    fails, the server skips the ``COMMIT`` and the transaction is left to the block to roll back.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"{statement}; COMMIT", params)


def after_commit(callback: Callable[[], object], *, what: str) -> None:
    """Run ``callback`` once the current transaction commits (never if it rolls back), guarded."""

    def guarded() -> None:
        try:
            callback()
        except Exception as exc:  # noqa: BLE001 - the change is committed; its answer must not become an error
            logger.warning("after commit, could not %s: %s", what, exc.__class__.__name__)

    transaction.on_commit(guarded)
