from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "common.backoffice"
    label = "backoffice"
    verbose_name = "Back office"
