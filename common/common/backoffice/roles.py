"""The back office's roles, the same three in both services, seeded by each service's migrations:

- viewers look (the business's lists and pages, the audit trail);
- operators also act and ask (block a customer; ask for an adjustment, a reversal, a limit decision,
  a policy version);
- supervisors look and approve what operators ask (credit_manager's four eyes), and release admin
  login lockouts.

Each role holds exactly its permissions; a person who must both ask and approve needs two accounts.
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions

# Seeing the admin logins' lockouts and releasing them (forgetting their failed attempts).
LOCKOUT_RELEASE = [
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),
    ("axes", "view_accesslog"),
    ("axes", "view_accessfailurelog"),
]

VIEWERS = "Back office viewers"
OPERATORS = "Back office operators"
SUPERVISORS = "Back office supervisors"


def grant(apps, roles: dict[str, list[tuple[str, str]]]) -> None:
    """Give each role exactly its ``(app label, codename)`` permissions (from a data migration)."""
    for label in {app for permissions in roles.values() for app, _ in permissions}:
        # Permissions are normally created after all migrations ran; a fresh database needs them now.
        app_config = apps.get_app_config(label)
        app_config.models_module = getattr(app_config, "models_module", None) or True  # a migration's app stub has none
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, permissions in roles.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([Permission.objects.get(content_type__app_label=app, codename=code) for app, code in permissions])
