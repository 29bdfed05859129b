"""The back office roles of credit_manager, seeded by a migration: viewers look; operators also ask for
the money decisions; supervisors look and approve them. Each holds exactly its permissions, and the
screens offer each role its actions and no others."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.test import Client

from approvals.models import ApprovalRequest
from common.backoffice.roles import OPERATORS, SUPERVISORS, VIEWERS
from ledger.models import LedgerTransaction

pytestmark = pytest.mark.django_db

ROLES = importlib.import_module("approvals.migrations.0002_back_office_roles")
LOOK = {
    "accounts.view_creditaccount", "analysis.view_creditdecision", "analysis.view_creditpolicy", "analysis.view_limitrequest",
    "ledger.view_ledgertransaction", "ledger.view_ledgerentry", "authorizations.view_authorization",
    "authorizations.view_holdrule", "approvals.view_approvalrequest", "audit.view_auditentry", "messaging.view_deadletter",
}  # fmt: skip
ASK = {
    "ledger.post_adjustment", "ledger.reverse_transaction", "analysis.review_limitrequest", "analysis.add_creditpolicy",
    "analysis.change_creditpolicy", "authorizations.add_holdrule", "authorizations.change_holdrule",
    "authorizations.reverse_authorization", "messaging.resolve_deadletter",
}  # fmt: skip
LOCKOUTS = {"axes.view_accessattempt", "axes.delete_accessattempt", "axes.view_accesslog", "axes.view_accessfailurelog"}
# The actions each role is offered on each list.
ACTIONS = {
    "accounts/creditaccount": {VIEWERS: set(), OPERATORS: {"ask_adjustment"}, SUPERVISORS: set()},
    "ledger/ledgertransaction": {VIEWERS: set(), OPERATORS: {"ask_reversal"}, SUPERVISORS: set()},
    "analysis/limitrequest": {VIEWERS: set(), OPERATORS: {"ask_approval", "ask_denial"}, SUPERVISORS: set()},
    "authorizations/authorization": {VIEWERS: set(), OPERATORS: {"reverse"}, SUPERVISORS: set()},
    "approvals/approvalrequest": {VIEWERS: set(), OPERATORS: {"cancel"}, SUPERVISORS: {"approve", "reject"}},
    "messaging/deadletter": {VIEWERS: set(), OPERATORS: {"replay", "discard"}, SUPERVISORS: set()},
}


@pytest.fixture(autouse=True)
def roles():
    ROLES.seed_roles(apps, None)


def member(role: str, username: str | None = None) -> tuple[User, Client]:
    user = User.objects.create_user(username or role.split()[-1], password="a-long-password-of-the-role-1", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return user, client


def held(role: str) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=role).permissions.all()}


def test_each_role_holds_exactly_its_permissions():
    assert held(VIEWERS) == LOOK
    assert held(OPERATORS) == LOOK | ASK
    assert held(SUPERVISORS) == LOOK | {"approvals.decide_approvalrequest"} | LOCKOUTS
    assert not held(OPERATORS) & held(SUPERVISORS) - LOOK  # nobody both asks and approves


@pytest.mark.parametrize("changelist", sorted(ACTIONS))
@pytest.mark.parametrize("role", [VIEWERS, OPERATORS, SUPERVISORS])
def test_each_role_is_offered_exactly_its_actions(active_account, changelist, role):
    _, client = member(role)
    page = client.get(f"/admin/{changelist}/")
    assert page.status_code == 200
    offered = set(page.context["cl"].model_admin.get_actions(page.wsgi_request))
    assert offered == ACTIONS[changelist][role]


def test_an_operator_asks_and_a_supervisor_approves(active_account):
    operator, asking = member(OPERATORS)
    _, approving = member(SUPERVISORS)
    asking.post(
        "/admin/accounts/creditaccount/",
        {"action": "ask_adjustment", "_selected_action": [str(active_account.id)], "direction": "debit", "amount": "9.90",
         "reason": "card replacement fee"},
    )  # fmt: skip
    asked = ApprovalRequest.objects.get()
    assert asked.requested_by == operator
    approving.post("/admin/approvals/approvalrequest/", {"action": "approve", "_selected_action": [str(asked.id)]})
    assert LedgerTransaction.objects.get(type="adjustment").amount == Decimal("9.90")


def test_a_viewer_changes_nothing(active_account):
    _, client = member(VIEWERS)
    client.post(
        "/admin/accounts/creditaccount/",
        {"action": "ask_adjustment", "_selected_action": [str(active_account.id)], "direction": "debit", "amount": "9.90",
         "reason": "fee"},
    )  # fmt: skip
    assert client.get("/admin/analysis/creditpolicy/add/").status_code == 403
    assert not ApprovalRequest.objects.exists()
