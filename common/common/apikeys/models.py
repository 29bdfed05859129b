"""API keys that operators issue to partners and front ends. Only a hash of the key is stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    name = models.CharField(max_length=100, help_text="Who or what uses the key.")
    prefix = models.CharField(max_length=16, db_index=True, help_text="First characters of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When the key stops working; empty: never.")
    last_used_at = models.DateTimeField(
        null=True, blank=True, help_text="Its last accepted request, recorded at most once a minute."
    )

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
