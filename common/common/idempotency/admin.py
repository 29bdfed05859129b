from django.contrib import admin

from common.admin import ReadOnlyModelAdmin
from common.idempotency.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyModelAdmin):
    """Read-only: what each idempotency key was answered, until the retention period ends."""

    list_display = ("key", "scope", "response_status", "created_at")
    list_filter = ("response_status",)
    search_fields = ("key", "scope")
