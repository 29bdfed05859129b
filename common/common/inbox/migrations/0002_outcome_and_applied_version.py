from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("inbox", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="processedevent",
            name="outcome",
            field=models.CharField(
                choices=[("handled", "Handled"), ("stale", "stale (older than the version applied)")],
                default="handled",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="processedevent",
            name="version",
            field=models.BigIntegerField(blank=True, help_text="The aggregate's version the event carried.", null=True),
        ),
        migrations.CreateModel(
            name="AppliedVersion",
            fields=[
                ("aggregate", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("version", models.BigIntegerField()),
                ("applied_at", models.DateTimeField()),
            ],
        ),
    ]
