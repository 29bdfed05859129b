from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules

from common.messaging import event_batch


class MessagingConfig(AppConfig):
    name = "common.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Each app declares its event handlers in ``event_handlers.py``, next to the domain they serve.
        autodiscover_modules("event_handlers")
        event_batch.register_serializer()
