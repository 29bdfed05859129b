"""Admin building blocks shared by both back offices."""

from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """For history (events, ledger lines): operators look, they never add, edit or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
