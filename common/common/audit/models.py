"""The audit trail: every change an operator or an API caller made to a customer or an account, append-only
and hash-chained per subject (see ``common.audit.services``)."""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    """Who changed what, on which subject, from which request, with the subject before and after.

    ``entry_hash`` is an HMAC (key ``AUDIT_HMAC_KEY``) of the entry's content and of the previous
    entry's hash: an entry edited, removed or slipped in breaks the chain from there on. A database
    trigger refuses UPDATE and DELETE.
    """

    subject_type = models.CharField(max_length=20, help_text="customer or account")
    subject_id = models.UUIDField()
    sequence = models.PositiveIntegerField(help_text="1 for the subject's first entry, then one more for each.")
    actor_type = models.CharField(max_length=10, help_text="operator (back office) or api_key")
    actor_id = models.CharField(max_length=64)
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=60, help_text="What happened: the event the change announced.")
    request_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ["subject_type", "subject_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id", "sequence"], name="audit_sequence_unique_per_subject")
        ]
        indexes = [models.Index(fields=["-created_at"], name="audit_entry_time_idx")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_type} {self.actor_name}"


class AuditHead(models.Model):
    """Each subject's newest entry: the end its chain must reach, so removing the last entries shows too.
    Locked while an entry is added, so one subject's entries are chained one at a time."""

    subject_type = models.CharField(max_length=20)
    subject_id = models.UUIDField()
    sequence = models.PositiveIntegerField()
    entry_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject_type", "subject_id"], name="audit_head_unique_per_subject")]
