from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.apikeys.services import issue_api_key
from common.errors import DomainError


def _positive_days(value: str) -> int:
    days = int(value)
    if days < 1:
        raise ValueError(value)
    return days


class Command(BaseCommand):
    help = "Issue an API key with scopes; the key is printed once and only its hash is stored."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", required=True, help="Comma-separated, e.g. users:read,users:write")
        parser.add_argument(
            "--expires-in-days", type=_positive_days, help="The key stops working after this many days (default: never)."
        )

    def handle(self, *args, name: str, scopes: str, expires_in_days: int | None, **options) -> None:
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            key, raw_key = issue_api_key(
                name=name, scopes=[s.strip() for s in scopes.split(",") if s.strip()], expires_at=expires_at
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        expiry = f", expiring {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        self.stderr.write(f"API key '{key.name}' with scopes {','.join(key.scopes)}{expiry} (shown once, store it now):")
        self.stdout.write(raw_key)
