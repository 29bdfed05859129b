"""``manage.py replay_dead_letters``: hand dead-lettered events back to the queue workers."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from common.messaging.replay import replay_dead_letters
from common.messaging.tasks import hand_off
from common.times import time_or_hours_ago


class Command(BaseCommand):
    help = (
        "Replay the events this service dead-lettered (after fixing what made them fail). "
        "Harmless to repeat: handlers are idempotent and older versions never undo newer state."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", help="dead-lettered at or after: ISO-8601 time (UTC if no offset) or hours ago like '24h'")
        parser.add_argument("--until", help="dead-lettered at or before (same forms)")
        parser.add_argument("--type", action="append", dest="types", metavar="EVENT_TYPE", help="only this type (repeatable)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be replayed, replay nothing")

    def handle(self, *args, since: str | None, until: str | None, types: list[str] | None, dry_run: bool, **options) -> None:
        try:
            start = time_or_hours_ago(since) if since else None
            end = time_or_hours_ago(until) if until else None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        counts = replay_dead_letters(
            dispatch=hand_off, since=start, until=end, event_types=frozenset(types) if types else None, dry_run=dry_run
        )
        verb = "would replay" if dry_run else "replayed"
        others = ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in sorted(counts.items()) if name != "replayed")
        self.stdout.write(f"{verb} {counts['replayed']} event(s)" + (f"; {others}" if others else ""))
