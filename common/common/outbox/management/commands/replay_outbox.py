"""Re-send events after a broker lost them (e.g. the memory-only local broker restarted)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from common.outbox.services import relay_pending, replay_since
from common.times import time_or_hours_ago


class Command(BaseCommand):
    help = "Mark outbox events created since a time as pending again and relay them (consumers are idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", required=True, help="ISO-8601 time (UTC if no offset), or hours ago like '24h'.")

    def handle(self, *args, since: str, **options) -> None:
        try:
            start = time_or_hours_ago(since)
        except ValueError as exc:
            raise CommandError(f"--since: {exc}") from exc
        count = replay_since(start)
        result = relay_pending()
        if result.skipped_locked:
            sending = "the running relay process sends them"
        else:
            sending = f"sent {result.sent}, failed {result.failed}"
        self.stdout.write(f"replayed {count} event(s) created since {start.isoformat()}; {sending}")
