from django.contrib import admin

from accounts.models import CreditAccount


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ("user_id", "status", "credit_limit", "balance", "currency", "opened_at")
    list_filter = ("status",)
    search_fields = ("user_id", "id")
    readonly_fields = ("id", "user_id", "status", "credit_limit", "balance", "currency", "version", "opened_at", "updated_at")
