"""The operators' API (``/staff/api/v1/``, Django REST framework): the back office's queues over the
operator's session, with CSRF, each action allowed to exactly the roles the admin allows it to, through
the same services (so maker ≠ checker holds here too), errors in the platform's shape."""

import importlib
import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.test import Client
from support import spend

from analysis.services import decide_limit_request, request_limit
from approvals import services
from approvals.models import ApprovalRequest
from common.backoffice.roles import OPERATORS, SUPERVISORS, VIEWERS
from common.messaging.models import DeadLetter
from ledger.models import LedgerTransaction

pytestmark = pytest.mark.django_db

API = "/staff/api/v1"
ROLES = importlib.import_module("approvals.migrations.0002_back_office_roles")


@pytest.fixture(autouse=True)
def roles():
    ROLES.seed_roles(apps, None)


def member(role: str) -> tuple[User, Client]:
    user = User.objects.create_user(f"{role.split()[-1]}-{uuid.uuid4().hex[:6]}", password="a-long-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def queue(active_account):
    """One of each thing the actions act on, asked by an operator (the maker)."""
    maker, _ = member(OPERATORS)
    limit_request = request_limit(account_id=active_account.id, requested_limit=Decimal("23000.00"))
    decide_limit_request(request_id=limit_request.id)  # to manual review
    spend(active_account, "10.00")

    def approval() -> ApprovalRequest:
        return services.request_adjustment(
            account_id=active_account.id, direction="debit", amount=Decimal("1.00"), reason="fee", requested_by=maker
        )

    def dead_letter() -> DeadLetter:
        return DeadLetter.objects.create(reason="boom", origin="task attempt 5", payload="{}")

    return {"maker": maker, "approval": approval, "limit_request": limit_request, "dead_letter": dead_letter}


# action: (method, path built from the queue, the roles allowed)
ACTIONS = {
    "list approvals": ("get", lambda q: "/approvals/", {VIEWERS, OPERATORS, SUPERVISORS}),
    "approve": ("post", lambda q: f"/approvals/{q['approval']().id}/approve/", {SUPERVISORS}),
    "reject": ("post", lambda q: f"/approvals/{q['approval']().id}/reject/", {SUPERVISORS}),
    "list reviews": ("get", lambda q: "/reviews/", {VIEWERS, OPERATORS, SUPERVISORS}),
    "ask to approve a review": ("post", lambda q: f"/reviews/{q['limit_request'].id}/ask-approval/", {OPERATORS}),
    "list dead letters": ("get", lambda q: "/dead-letters/", {VIEWERS, OPERATORS, SUPERVISORS}),
    "replay a dead letter": ("post", lambda q: f"/dead-letters/{q['dead_letter']().id}/replay/", {OPERATORS}),
    "discard a dead letter": ("post", lambda q: f"/dead-letters/{q['dead_letter']().id}/discard/", {OPERATORS}),
    "read the audit trail": ("get", lambda q: "/audit-entries/", {VIEWERS, OPERATORS, SUPERVISORS}),
}


@pytest.mark.parametrize("role", [VIEWERS, OPERATORS, SUPERVISORS])
@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_each_role_may_do_exactly_its_actions(queue, role, name):
    method, path, allowed = ACTIONS[name]
    _, client = member(role)
    response = getattr(client, method)(
        f"{API}{path(queue)}", {"reason": "checked with the customer"}, content_type="application/json"
    )
    if role in allowed:
        assert response.status_code != 403, response.json()
    else:
        assert (response.status_code, response.json()["code"]) == (403, "PERMISSION_DENIED")


def test_a_supervisor_approves_over_the_api_and_the_adjustment_is_posted_once(queue):
    asked = queue["approval"]()
    _, supervisor = member(SUPERVISORS)
    response = supervisor.post(f"{API}/approvals/{asked.id}/approve/", {}, content_type="application/json")
    assert (response.status_code, response.json()["status"]) == (200, "executed")
    again = supervisor.post(f"{API}/approvals/{asked.id}/approve/", {}, content_type="application/json")
    assert (again.status_code, again.json()["code"]) == (409, "APPROVAL_NOT_PENDING")
    assert LedgerTransaction.objects.filter(type="adjustment").count() == 1


def test_the_maker_cannot_approve_over_the_api_even_holding_both_roles(queue):
    asked = queue["approval"]()
    maker = queue["maker"]
    maker.groups.add(Group.objects.get(name=SUPERVISORS))
    client = Client()
    client.force_login(maker)
    response = client.post(f"{API}/approvals/{asked.id}/approve/", {}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (409, "CHECKER_IS_MAKER")
    assert not LedgerTransaction.objects.filter(type="adjustment").exists()


def test_a_change_without_the_sessions_csrf_token_is_refused(queue):
    supervisor_user, _ = member(SUPERVISORS)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(supervisor_user)
    asked = queue["approval"]()
    response = browser.post(f"{API}/approvals/{asked.id}/approve/", {}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (403, "CSRF_FAILED")
    assert ApprovalRequest.objects.get(id=asked.id).status == "pending"
    browser.get("/admin/")  # the back office page the operator is on sets the token cookie
    token = browser.cookies["credit_manager_csrftoken"].value
    accepted = browser.post(
        f"{API}/approvals/{asked.id}/approve/", {}, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200, accepted.json()


def test_without_a_session_nothing_is_shown():
    response = Client().get(f"{API}/approvals/")
    assert (response.status_code, response.json()["code"]) == (403, "NOT_AUTHENTICATED")


def test_the_api_describes_itself_in_openapi(admin_client):
    schema = admin_client.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert {"/staff/api/v1/approvals/{id}/approve/", "/staff/api/v1/dead-letters/{id}/replay/"} <= set(schema["paths"])
