"""The audit trail in the back office: every entry read-only, and each subject's history as a table for
the customer's and the account's pages."""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from common.admin import ReadOnlyModelAdmin
from common.audit import services
from common.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "subject_type", "subject_id", "sequence", "actor_type", "actor_name", "action", "request_id")
    list_filter = ("subject_type", "actor_type", "action")
    search_fields = ("=subject_id", "actor_name", "=request_id")
    readonly_fields = [field.name for field in AuditEntry._meta.fields]


def history_table(*, subject_type: str, subject_id: uuid.UUID) -> SafeString:
    """The subject's audit entries, newest first: when, who, what, from which request, what changed."""
    entries = services.history(subject_type=subject_type, subject_id=subject_id)
    if not entries:
        return format_html("<p>{}</p>", "No change by an operator or an API key yet.")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{} {}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
        (
            (f"{e.created_at:%Y-%m-%d %H:%M:%S %Z}", e.actor_type.replace("_", " "), e.actor_name, e.action, e.request_id, _changes(e))
            for e in entries
        ),
    )
    return format_html(
        "<table><thead><tr><th>time</th><th>by</th><th>what</th><th>request</th><th>changed</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        rows,
    )


def _changes(entry: AuditEntry) -> SafeString:
    before, after = entry.before or {}, entry.after or {}
    changed = [(key, before.get(key), value) for key, value in after.items() if before.get(key) != value]
    return format_html_join(", ", "{}: {} → {}", ((key, "—" if old is None else old, new) for key, old, new in changed))
