"""The back office's roles: operators look at customers; managers may also block, unblock and close them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATORS = "Customer operators (read-only)"
MANAGERS = "Customer managers"
ROLES = {
    OPERATORS: [("users", "view_customer"), ("credit_summary", "view_creditsummary")],
    MANAGERS: [("users", "view_customer"), ("users", "change_customer"), ("credit_summary", "view_creditsummary")],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; a fresh database needs them now.
    for label in ("users", "credit_summary"):
        app_config = apps.get_app_config(label)
        app_config.models_module = getattr(app_config, "models_module", None) or True  # a migration's app stub has none
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in codenames]
        )


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
