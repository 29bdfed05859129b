from celery import shared_task

from common.inbox.services import purge_processed


@shared_task(name="common.inbox.purge_processed_events", ignore_result=True)
def purge_processed_events() -> int:
    return purge_processed()
