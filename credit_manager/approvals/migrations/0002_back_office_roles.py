"""The three back office roles (``common.backoffice.roles``) in credit_manager: viewers look at accounts,
decisions, the ledger, card authorizations, approval requests and the audit trail; operators also ask
for the money decisions (adjustments, reversals, limit decisions, policy versions), edit hold rules and
release card holds; supervisors look and approve or reject what operators ask, and release login
lockouts. Nobody holds both asking and approving."""

from django.db import migrations

from common.backoffice.roles import LOCKOUT_RELEASE, OPERATORS, SUPERVISORS, VIEWERS, grant

LOOK = [
    ("accounts", "view_creditaccount"),
    ("analysis", "view_creditdecision"),
    ("analysis", "view_creditpolicy"),
    ("analysis", "view_limitrequest"),
    ("ledger", "view_ledgertransaction"),
    ("ledger", "view_ledgerentry"),
    ("authorizations", "view_authorization"),
    ("authorizations", "view_holdrule"),
    ("approvals", "view_approvalrequest"),
    ("audit", "view_auditentry"),
    ("messaging", "view_deadletter"),
]
ASK = [
    ("ledger", "post_adjustment"),
    ("ledger", "reverse_transaction"),
    ("analysis", "review_limitrequest"),
    ("analysis", "add_creditpolicy"),
    ("analysis", "change_creditpolicy"),
    ("authorizations", "add_holdrule"),
    ("authorizations", "change_holdrule"),
    ("authorizations", "reverse_authorization"),
    ("messaging", "resolve_deadletter"),
]
ROLES = {
    VIEWERS: LOOK,
    OPERATORS: [*LOOK, *ASK],
    SUPERVISORS: [*LOOK, ("approvals", "decide_approvalrequest"), *LOCKOUT_RELEASE],
}


def seed_roles(apps, schema_editor):
    grant(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_initial"),
        ("accounts", "0005_holds"),
        ("analysis", "0001_initial"),
        ("ledger", "0001_initial"),
        ("authorizations", "0002_default_hold_rules"),
        ("audit", "0001_initial"),
        ("backoffice", "0001_back_office_supervisors"),
        ("messaging", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
