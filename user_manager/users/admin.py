from django.contrib import admin

from users.cpf import mask_cpf
from users.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("full_name", "email", "masked_tax_id", "status", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("full_name", "email", "tax_id")
    readonly_fields = ("id", "status", "version", "created_at", "updated_at")

    @admin.display(description="tax id")
    def masked_tax_id(self, obj: Customer) -> str:
        return mask_cpf(obj.tax_id)
