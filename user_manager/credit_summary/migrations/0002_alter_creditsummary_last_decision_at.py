from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("credit_summary", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="creditsummary",
            name="last_decision_at",
            field=models.DateTimeField(blank=True, help_text="When credit_manager took the decision.", null=True),
        ),
    ]
