"""The three back office roles (``common.backoffice.roles``) in user_manager: viewers look at customers,
their credit, the audit trail and the dead letters; operators also block, unblock and close, and
replay or discard dead letters; supervisors look and
release login lockouts. The earlier two groups become viewers and operators, with their members."""

from django.db import migrations

from common.backoffice.roles import LOCKOUT_RELEASE, OPERATORS, SUPERVISORS, VIEWERS, grant

LOOK = [
    ("users", "view_customer"), ("credit_summary", "view_creditsummary"), ("audit", "view_auditentry"),
    ("messaging", "view_deadletter"),
]  # fmt: skip
ROLES = {
    VIEWERS: LOOK,
    OPERATORS: [*LOOK, ("users", "change_customer"), ("messaging", "resolve_deadletter")],
    SUPERVISORS: [*LOOK, *LOCKOUT_RELEASE],
}
RENAMED = {"Customer operators (read-only)": VIEWERS, "Customer managers": OPERATORS}


def seed_roles(apps, schema_editor):
    grant(apps, ROLES)
    Group = apps.get_model("auth", "Group")
    for old_name, role in RENAMED.items():
        old = Group.objects.filter(name=old_name).first()
        if old is not None:
            Group.objects.get(name=role).user_set.add(*old.user_set.all())
            old.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_back_office_groups"),
        ("credit_summary", "0001_initial"),
        ("audit", "0001_initial"),
        ("backoffice", "0001_back_office_supervisors"),
        ("messaging", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
