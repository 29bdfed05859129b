from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class MessagingConfig(AppConfig):
    name = "common.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Each app declares its event handlers in ``event_handlers.py``, next to the domain they serve.
        autodiscover_modules("event_handlers")
