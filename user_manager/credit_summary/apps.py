from django.apps import AppConfig


class CreditSummaryConfig(AppConfig):
    name = "credit_summary"
    verbose_name = "Credit summaries"
