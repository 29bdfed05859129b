from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "common.apikeys"
    label = "apikeys"
    verbose_name = "API keys"
