from celery import shared_task

from common.idempotency.services import purge_expired


@shared_task(name="common.idempotency.purge_expired_keys", ignore_result=True)
def purge_expired_keys() -> int:
    return purge_expired()
