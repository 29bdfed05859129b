"""Back office supervisors see the admin logins' lockouts and release them (in both services)."""

from django.db import migrations

from common.backoffice.roles import LOCKOUT_RELEASE, SUPERVISORS, grant


def create_group(apps, schema_editor):
    grant(apps, {SUPERVISORS: LOCKOUT_RELEASE})


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=SUPERVISORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("axes", "0010_accessattemptexpiration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
