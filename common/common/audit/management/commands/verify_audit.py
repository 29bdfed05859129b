"""``manage.py verify_audit``: prove the audit trail is whole and unedited, chain by chain."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from common.audit.services import verify


class Command(BaseCommand):
    help = "Check every subject's hash-chained audit entries; name the first broken entry of each chain and exit 1."

    def handle(self, *args, **options) -> None:
        checked, breaks = verify()
        if not breaks:
            self.stdout.write(f"audit ok: {checked} entries")
            return
        for found in breaks:
            where = f"entry {found.sequence}" + (f" (id {found.entry_id})" if found.entry_id else "")
            self.stderr.write(f"audit BROKEN: {found.subject_type} {found.subject_id}, {where}: {found.problem}")
        raise SystemExit(1)
