from django.contrib import admin

from common.admin import ReadOnlyModelAdmin
from common.inbox.models import ProcessedEvent


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(ReadOnlyModelAdmin):
    """Read-only list of the events this service has handled."""

    list_display = ("event_type", "subject", "version", "outcome", "source", "occurred_at", "processed_at")
    list_filter = ("outcome", "event_type", "source")
    search_fields = ("subject", "event_id")

