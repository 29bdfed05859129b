"""Back office supervisors see the admin logins' lockouts and release them (in both services)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPERVISORS = "Back office supervisors"
PERMISSIONS = [
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),  # releasing a lockout forgets its failed attempts
    ("axes", "view_accesslog"),
    ("axes", "view_accessfailurelog"),
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; a fresh database needs them now.
    app_config = apps.get_app_config("axes")
    app_config.models_module = getattr(app_config, "models_module", None) or True  # a migration's app stub has none
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=SUPERVISORS)
    group.permissions.set(
        [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in PERMISSIONS]
    )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=SUPERVISORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("axes", "0010_accessattemptexpiration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
