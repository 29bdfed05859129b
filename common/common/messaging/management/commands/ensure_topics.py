from django.core.management.base import BaseCommand

from common.messaging.kafka import ensure_topics, platform_topics


class Command(BaseCommand):
    help = "Create this service's Kafka topics with their partition count, if missing."

    def handle(self, *args, **options) -> None:
        created = ensure_topics()
        self.stdout.write(f"topics ready: {', '.join(platform_topics())}; created: {', '.join(created) or 'none'}")
