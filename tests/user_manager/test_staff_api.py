"""user_manager's operators' API (``/staff/api/v1/``): its dead letters and audit trail over the operator's
session, each action allowed to exactly the roles the admin allows it to."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.test import Client

from common.backoffice.roles import OPERATORS, SUPERVISORS, VIEWERS
from common.messaging.models import DeadLetter

pytestmark = pytest.mark.django_db

API = "/staff/api/v1"
ROLES = importlib.import_module("users.migrations.0003_back_office_roles")


@pytest.fixture(autouse=True)
def roles():
    ROLES.seed_roles(apps, None)


def as_member(role: str) -> Client:
    user = User.objects.create_user(role.split()[-1], password="a-long-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("role", "may_discard"), [(VIEWERS, False), (OPERATORS, True), (SUPERVISORS, False)]
)  # fmt: skip
def test_every_role_reads_the_queues_and_only_operators_resolve_dead_letters(create_customer, role, may_discard):
    create_customer()  # an audit entry
    letter = DeadLetter.objects.create(reason="boom", origin="credit.events/0@3", payload="not an event")
    client = as_member(role)
    assert client.get(f"{API}/dead-letters/?status=open").json()["count"] == 1
    assert client.get(f"{API}/audit-entries/").json()["results"][0]["action"] == "user.created"
    response = client.post(f"{API}/dead-letters/{letter.id}/discard/", {"reason": "test noise"}, content_type="application/json")
    if may_discard:
        assert (response.status_code, response.json()["status"]) == (200, "discarded")
    else:
        assert (response.status_code, response.json()["code"]) == (403, "PERMISSION_DENIED")
