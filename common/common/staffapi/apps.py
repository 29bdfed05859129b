from django.apps import AppConfig


class StaffApiConfig(AppConfig):
    name = "common.staffapi"
    label = "staffapi"
    verbose_name = "Operators' API"
