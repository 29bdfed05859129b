"""Idempotency keys: the first response to a key, kept so a retried request gets the same answer."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    """One key of one caller on one endpoint, with the response it got (Stripe's semantics).

    Written in the transaction of the request it answers: a request that fails with a server error
    leaves no record, so the client may retry with the same key.
    """

    scope = models.CharField(max_length=500, help_text="Caller (API key id), method and path the key belongs to.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON body of the first request.")
    # Written with the key (a key was once claimed first and answered at the end: hence nullable).
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(null=True, help_text="The JSON body exactly as first sent.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique_per_scope")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key} ({self.scope})"
