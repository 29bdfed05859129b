"""Side effects after commit, through one helper: what runs after a change committed never undoes
the answer to it.

A hook that raises inside Django's ``on_commit`` turns a committed change into an error response
and skips the hooks registered after it. Every hook here is guarded: a failure is logged (by its
kind, never its data) and the next hook still runs. What a hook does must be safe to miss: each
has a backstop (the outbox sweep, the limit-request sweep, the cache's retried invalidation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)


def after_commit(callback: Callable[[], object], *, what: str) -> None:
    """Run ``callback`` once the current transaction commits (never if it rolls back), guarded."""

    def guarded() -> None:
        try:
            callback()
        except Exception as exc:  # noqa: BLE001 - the change is committed; its answer must not become an error
            logger.warning("after commit, could not %s: %s", what, exc.__class__.__name__)

    transaction.on_commit(guarded)
