"""The dead-letter console: what this service could not apply, why and where from; an operator replays
it once the cause is fixed, or discards it with a reason (``common.messaging.dead_letters``)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from common.admin import ReadOnlyModelAdmin, ReasonActionForm, action_reason, apply_each
from common.messaging import dead_letters
from common.messaging.models import DeadLetter


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyModelAdmin):
    list_display = ("dead_lettered_at", "event_type", "subject", "short_reason", "origin", "status", "resolved_by")
    list_filter = ("status", "event_type")
    search_fields = ("=event_id", "=subject", "reason")
    fields = (
        "event_id", "event_type", "subject", "reason", "origin", "dead_lettered_at", "status", "resolved_by", "resolved_at",
        "resolution_note", "payload_shown",
    )  # fmt: skip
    readonly_fields = fields
    action_form = ReasonActionForm
    actions = ["replay", "discard"]

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("messaging.resolve_deadletter")

    @admin.action(description="Replay the selected events (the cause is fixed)", permissions=["resolve"])
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        apply_each(
            self, request, queryset, lambda row: dead_letters.replay(dead_letter_id=row.id, by=request.user), done="event(s) replayed"
        )

    @admin.action(description="Discard the selected dead letters (reason above)", permissions=["resolve"])
    def discard(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        apply_each(
            self, request, queryset,
            lambda row: dead_letters.discard(dead_letter_id=row.id, by=request.user, note=action_reason(request)),
            done="dead letter(s) discarded",
        )  # fmt: skip

    @admin.display(description="reason")
    def short_reason(self, obj: DeadLetter) -> str:
        return obj.reason if len(obj.reason) <= 80 else f"{obj.reason[:80]}…"

    @admin.display(description="payload")
    def payload_shown(self, obj: DeadLetter) -> str:
        try:
            shown = json.dumps(json.loads(obj.payload), indent=2, sort_keys=True)
        except ValueError:
            shown = obj.payload
        return format_html("<pre>{}</pre>", shown)
