import django.db.models.deletion
from django.db import migrations, models


def fill_last_decision(apps, schema_editor):
    """Accounts opened before: their newest decision."""
    CreditAccount = apps.get_model("accounts", "CreditAccount")
    CreditDecision = apps.get_model("analysis", "CreditDecision")
    for account in CreditAccount.objects.filter(last_decision__isnull=True).iterator():
        newest = CreditDecision.objects.filter(account_id=account.id).order_by("-created_at", "-id").first()
        if newest is not None:
            CreditAccount.objects.filter(id=account.id).update(last_decision=newest)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_current_decision"),
        ("analysis", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditaccount",
            name="last_decision",
            field=models.ForeignKey(
                blank=True,
                help_text="The account's latest decision, in force or not (a denied limit request, a review).",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="analysis.creditdecision",
            ),
        ),
        migrations.RunPython(fill_last_decision, migrations.RunPython.noop),
    ]
