"""The account keeps its current and latest decision as copies (decisions never change) instead of
foreign keys into the analysis app, so accounts no longer depends on the app that builds on it."""

from django.db import migrations

import accounts.models


def copy_decisions(apps, schema_editor):
    CreditAccount = apps.get_model("accounts", "CreditAccount")
    CreditDecision = apps.get_model("analysis", "CreditDecision")
    decisions = CreditDecision.objects.select_related("policy")
    for account in CreditAccount.objects.exclude(current_decision__isnull=True, last_decision__isnull=True).iterator():
        copies = {}
        for name in ("current_decision", "last_decision"):
            decision_id = getattr(account, f"{name}_id")
            if decision_id is not None:
                copies[f"{name}_copy"] = _copy(decisions.get(id=decision_id))
        CreditAccount.objects.filter(id=account.id).update(**copies)


def _copy(decision) -> dict:
    return accounts.models.AccountDecision(
        id=decision.id,
        trigger=decision.trigger,
        outcome=decision.outcome,
        score=decision.score,
        reason_codes=list(decision.reason_codes),
        policy_version=decision.policy.version,
        created_at=decision.created_at,
        grants_credit=decision.outcome != "denied",
    ).to_json()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_last_decision"),
        ("analysis", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditaccount",
            name="current_decision_copy",
            field=accounts.models.AccountDecisionField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="creditaccount",
            name="last_decision_copy",
            field=accounts.models.AccountDecisionField(blank=True, null=True),
        ),
        migrations.RunPython(copy_decisions, migrations.RunPython.noop),
        migrations.RemoveField(model_name="creditaccount", name="current_decision"),
        migrations.RemoveField(model_name="creditaccount", name="last_decision"),
        migrations.RenameField(model_name="creditaccount", old_name="current_decision_copy", new_name="current_decision"),
        migrations.RenameField(model_name="creditaccount", old_name="last_decision_copy", new_name="last_decision"),
        migrations.AlterField(
            model_name="creditaccount",
            name="current_decision",
            field=accounts.models.AccountDecisionField(
                blank=True, help_text="The decision that set the account's current limit and status.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="creditaccount",
            name="last_decision",
            field=accounts.models.AccountDecisionField(
                blank=True,
                help_text="The account's latest decision, in force or not (a denied limit request, a review).",
                null=True,
            ),
        ),
    ]
