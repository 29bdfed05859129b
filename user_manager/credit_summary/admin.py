from django.contrib import admin

from common.admin import ReadOnlyModelAdmin
from credit_summary.models import CreditSummary


@admin.register(CreditSummary)
class CreditSummaryAdmin(ReadOnlyModelAdmin):
    """Read-only: written only by credit_manager's events; the customer page shows it too."""

    list_display = ("customer", "status", "credit_limit", "balance", "held", "available", "last_decision_outcome", "account_version", "updated_at")
    list_filter = ("status", "last_decision_outcome")
    list_select_related = ("customer",)
    search_fields = ("customer__full_name", "customer__email")
