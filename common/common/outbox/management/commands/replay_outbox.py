"""Re-send events after a broker lost them (e.g. the memory-only local broker restarted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from common.outbox.services import relay_pending, replay_since


class Command(BaseCommand):
    help = "Mark outbox events created since a time as pending again and relay them (consumers are idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", required=True, help="ISO-8601 time (UTC if no offset), or hours ago like '24h'.")

    def handle(self, *args, since: str, **options) -> None:
        start = _parse_since(since)
        count = replay_since(start)
        result = relay_pending()
        self.stdout.write(f"replayed {count} event(s) created since {start.isoformat()}; sent {result.sent}, failed {result.failed}")


def _parse_since(value: str) -> datetime:
    if value.endswith("h") and value[:-1].isdigit():
        return timezone.now() - timedelta(hours=int(value[:-1]))
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--since: not a time: {value!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)
