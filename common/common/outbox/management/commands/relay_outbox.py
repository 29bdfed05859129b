"""``manage.py relay_outbox``: the relay process of a service."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from common.outbox.relay import OutboxRelay
from common.startup import freeze_startup_objects


class Command(BaseCommand):
    help = "Send this service's outbox to Kafka as soon as each change commits, in the order it was published."

    def handle(self, *args, **options) -> None:
        relay = OutboxRelay()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: relay.stop())
        freeze_startup_objects()
        relay.run()
