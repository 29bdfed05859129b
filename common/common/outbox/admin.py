from django.contrib import admin

from common.admin import ReadOnlyModelAdmin
from common.outbox.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyModelAdmin):
    """Read-only: the outbox is history; operators look, they never edit."""

    list_display = ("id", "event_type", "subject", "topic", "created_at", "sent_at", "attempts")
    list_filter = ("event_type", "topic", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("subject", "event_id")
    ordering = ("-id",)
