"""The customer's credit as credit_manager last reported it: a read model, written only by credit events.

Built on ``users`` (it points at ``Customer``); users never imports this app (see ``users``).
"""

from __future__ import annotations

from django.db import models

from users.models import Customer


class CreditSummary(models.Model):
    """One row per customer, created by the first credit event about them.

    What the newest credit event says (by its publication sequence): every credit event carries the
    account's state and its latest decision, so both come from the same, newest event.
    """

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="credit_summary")
    account_id = models.UUIDField()
    status = models.CharField(max_length=20, db_index=True, help_text="The credit account's status in credit_manager.")
    credit_limit = models.DecimalField(max_digits=14, decimal_places=2)
    balance = models.DecimalField(max_digits=14, decimal_places=2, help_text="Owed by the customer.")
    held = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Reserved by card authorizations not yet captured or released."
    )
    available = models.DecimalField(max_digits=14, decimal_places=2)
    account_version = models.PositiveIntegerField(default=0, help_text="Version of the account state shown.")
    last_decision_id = models.UUIDField(null=True, blank=True)
    last_decision_outcome = models.CharField(max_length=30, blank=True)
    last_decision_reason_codes = models.JSONField(default=list, blank=True)
    last_decision_at = models.DateTimeField(null=True, blank=True, help_text="When credit_manager took the decision.")
    updated_at = models.DateTimeField(help_text="Time of the newest credit event shown.")

    class Meta:
        verbose_name_plural = "credit summaries"

    def __str__(self) -> str:
        return f"credit of {self.customer_id}: {self.status}"
