"""The hold rules in force from the start: seven days for most merchants, longer where the final amount
comes days later (hotels, car rental), and a tolerance where it comes with a tip or at the pump."""

from decimal import Decimal

from django.db import migrations

RULES = [
    ("", "every other category", 7, "0"),
    ("7011", "hotels and lodging", 30, "15"),
    ("3351", "car rental agencies", 30, "15"),
    ("7512", "car rental", 30, "15"),
    ("5812", "restaurants", 7, "20"),
    ("5813", "bars", 7, "20"),
    ("5814", "fast food", 7, "20"),
    ("4121", "taxis and ride hailing", 7, "20"),
    ("5542", "automated fuel dispensers", 7, "15"),
    ("5541", "service stations", 7, "15"),
]


def create_rules(apps, schema_editor):
    HoldRule = apps.get_model("authorizations", "HoldRule")
    for mcc, category, days, tolerance in RULES:
        HoldRule.objects.get_or_create(
            mcc=mcc, version=1,
            defaults={"category": category, "expiry_days": days, "capture_tolerance_percent": Decimal(tolerance), "note": "initial rules"},
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("authorizations", "0001_initial")]

    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]
