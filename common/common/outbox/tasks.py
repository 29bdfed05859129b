"""Queue-worker side of the outbox: the periodic sweep (for what the relay process missed) and the purge."""

from __future__ import annotations

from celery import shared_task

from common.outbox import services


@shared_task(name="common.outbox.relay_outbox", ignore_result=True)
def relay_outbox() -> dict[str, int]:
    """Send pending outbox rows. Not retried: whatever is left is picked up by the next sweep."""
    result = services.relay_pending()
    return {"sent": result.sent, "failed": result.failed}


@shared_task(name="common.outbox.purge_sent_outbox", ignore_result=True)
def purge_sent_outbox() -> int:
    return services.purge_sent()
