"""The back office's roles: operators look at customers; managers may also block, unblock and close them."""

from django.db import migrations

from common.backoffice.roles import grant

OPERATORS = "Customer operators (read-only)"
MANAGERS = "Customer managers"
ROLES = {
    OPERATORS: [("users", "view_customer"), ("credit_summary", "view_creditsummary")],
    MANAGERS: [("users", "view_customer"), ("users", "change_customer"), ("credit_summary", "view_creditsummary")],
}


def create_groups(apps, schema_editor):
    grant(apps, ROLES)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0001_initial"),
        ("credit_summary", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
