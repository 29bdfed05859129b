from django.db import migrations, models

REFUSE_CHANGES = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER audit_entry_immutable BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""
ALLOW_CHANGES = """
DROP TRIGGER audit_entry_immutable ON audit_auditentry;
DROP FUNCTION audit_refuse_change();
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("subject_type", models.CharField(help_text="customer or account", max_length=20)),
                ("subject_id", models.UUIDField()),
                ("sequence", models.PositiveIntegerField(help_text="1 for the subject's first entry, then one more for each.")),
                ("actor_type", models.CharField(help_text="operator (back office) or api_key", max_length=10)),
                ("actor_id", models.CharField(max_length=64)),
                ("actor_name", models.CharField(max_length=150)),
                ("action", models.CharField(help_text="What happened: the event the change announced.", max_length=60)),
                ("request_id", models.CharField(blank=True, max_length=64)),
                ("before", models.JSONField(blank=True, null=True)),
                ("after", models.JSONField(blank=True, null=True)),
                ("created_at", models.DateTimeField()),
                ("previous_hash", models.CharField(max_length=64)),
                ("entry_hash", models.CharField(max_length=64)),
            ],
            options={
                "verbose_name_plural": "audit entries",
                "ordering": ["subject_type", "subject_id", "sequence"],
                "indexes": [models.Index(fields=["-created_at"], name="audit_entry_time_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("subject_type", "subject_id", "sequence"), name="audit_sequence_unique_per_subject")
                ],
            },
        ),
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("subject_type", models.CharField(max_length=20)),
                ("subject_id", models.UUIDField()),
                ("sequence", models.PositiveIntegerField()),
                ("entry_hash", models.CharField(max_length=64)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("subject_type", "subject_id"), name="audit_head_unique_per_subject")]
            },
        ),
        migrations.RunSQL(REFUSE_CHANGES, ALLOW_CHANGES),
    ]
