"""``manage.py health_check --service ROLE`` (api, kafka-worker, queue-worker, relay, beat): one JSON line, exit 0 healthy, 1 not."""

from __future__ import annotations

import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from common.health.checks import CHECKS_BY_SERVICE


class Command(BaseCommand):
    help = "Check what one process of this service depends on; print one JSON line; exit 1 when unhealthy."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--service", required=True, choices=sorted(CHECKS_BY_SERVICE))

    def handle(self, *args, service: str, **options) -> None:
        results: dict[str, str] = {}
        healthy = True
        for name, check in CHECKS_BY_SERVICE[service].items():
            try:
                results[name] = check()
            except Exception as exc:  # noqa: BLE001 - any failure is a finding to report, not a crash
                healthy = False
                results[name] = f"error: {exc.__class__.__name__}: {str(exc)[:200]}"
        report = {"service": settings.SERVICE_NAME, "process": service, "healthy": healthy, "checks": results}
        self.stdout.write(json.dumps(report))
        sys.exit(0 if healthy else 1)
