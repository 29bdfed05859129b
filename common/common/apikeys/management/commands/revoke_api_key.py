from django.core.management.base import BaseCommand, CommandError

from common.apikeys.models import ApiKey
from common.apikeys.services import revoke_api_key


class Command(BaseCommand):
    help = "Revoke the API key with this prefix (the admin and the logs show it); every API process refuses it within a second."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--prefix", required=True, help="The key's first 10 characters, e.g. us_AbC1234")

    def handle(self, *args, prefix: str, **options) -> None:
        # Only a prefix is ever echoed: an operator may paste a whole key by mistake.
        shown = prefix[:10]
        keys = list(ApiKey.objects.filter(prefix=prefix))
        if not keys:
            raise CommandError(f"no API key with the prefix {shown}")
        if len(keys) > 1:
            raise CommandError(f"{len(keys)} API keys have the prefix {shown}: revoke the right one in the admin")
        [key] = keys
        told_everywhere = revoke_api_key(key=key)
        self.stdout.write(f"API key {key.prefix} ({key.name}) revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC.")
        if not told_everywhere:
            self.stderr.write("Redis was unavailable: other API processes may accept it for up to API_KEY_CACHE_SECONDS more.")
