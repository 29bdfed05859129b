from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "common.health"
    label = "health"
    verbose_name = "Health checks"
