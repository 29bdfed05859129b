"""Queue-worker side of card authorizations: the periodic expiry sweep, thin over ``authorizations.services``."""

from __future__ import annotations

from celery import shared_task

from authorizations import services


@shared_task(name="authorizations.expire_due_holds", ignore_result=True)
def expire_due_holds() -> int:
    """Expire the holds past their expiry, a batch at a time until none is left; safe to run twice at once."""
    total = 0
    while expired := services.expire_due_holds():
        total += expired
    return total
