"""``manage.py consume_kafka``: the kafka-worker process of a service."""

from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from common.messaging.consumer import EventConsumer
from common.messaging.dead_letter import send_to_dead_letter
from common.messaging.kafka import create_consumer, ensure_topics
from common.messaging.stats import record_progress
from common.messaging.tasks import hand_off
from common.startup import freeze_startup_objects


class Command(BaseCommand):
    help = "Consume this service's topics and hand the events to the queue workers, a batch per task."

    def handle(self, *args, **options) -> None:
        ensure_topics()
        consumer = EventConsumer(
            consumer=create_consumer(topics=settings.KAFKA_CONSUMED_TOPICS, group_id=settings.KAFKA_CONSUMER_GROUP),
            dispatch=hand_off,
            batch_size=settings.EVENT_BATCH_SIZE,
            dead_letter=send_to_dead_letter,
            record_progress=record_progress,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: consumer.stop())
        freeze_startup_objects()
        consumer.run()
