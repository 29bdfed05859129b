from django.core.management.base import BaseCommand, CommandError

from common.apikeys.services import issue_api_key
from common.errors import DomainError


class Command(BaseCommand):
    help = "Issue an API key with scopes; the key is printed once and only its hash is stored."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", required=True, help="Comma-separated, e.g. users:read,users:write")

    def handle(self, *args, name: str, scopes: str, **options) -> None:
        try:
            key, raw_key = issue_api_key(name=name, scopes=[s.strip() for s in scopes.split(",") if s.strip()])
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stderr.write(f"API key '{key.name}' with scopes {','.join(key.scopes)} (shown once, store it now):")
        self.stdout.write(raw_key)
