"""POST /api/v1/users/{id}/block, /unblock and /close: the customer's life cycle, each step announced."""

import uuid

import pytest
from django.test import Client

from common.outbox.models import OutboxEvent
from users.models import Customer

pytestmark = pytest.mark.django_db(transaction=True)


def act(client, customer_id, action, body=None, **headers):
    """POST the action, with no body at all unless one is given."""
    if body is None:
        return client.generic("POST", f"/api/v1/users/{customer_id}/{action}", headers=headers)
    return client.post(f"/api/v1/users/{customer_id}/{action}", body, content_type="application/json", headers=headers)


def announced(customer_id) -> list[tuple[str, dict]]:
    """The events published about the customer after its registration (without the customer's reference,
    which registration's tests cover)."""
    events = OutboxEvent.objects.filter(subject=customer_id).exclude(event_type="user.created")
    return [(event.event_type, {k: v for k, v in event.envelope["data"].items() if k != "reference"}) for event in events]


def state(customer: dict, *, version: int, status: str) -> dict:
    """What every customer event carries: the customer's version and what credit_manager needs."""
    return {
        "user_id": customer["id"],
        "version": version,
        "status": status,
        "birth_date": customer["birth_date"],
        "monthly_income": customer["monthly_income"],
    }


class TestBlock:
    def test_blocks_an_active_customer_and_announces_it_with_the_reason(self, create_customer, writer):
        created = create_customer()
        response = act(writer, created["id"], "block", {"reason": "chargeback fraud suspected"})
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "blocked" and response["ETag"] == '"2"'
        assert announced(created["id"]) == [
            ("user.blocked", {**state(created, version=2, status="blocked"), "reason": "chargeback fraud suspected"})
        ]

    @pytest.mark.parametrize("body", [None, {}])
    def test_the_reason_and_the_body_are_optional(self, create_customer, writer, body):
        created = create_customer()
        assert act(writer, created["id"], "block", body).status_code == 200
        assert announced(created["id"])[0][1]["reason"] == ""

    def test_blocking_a_blocked_customer_is_409(self, create_customer, writer):
        created = create_customer()
        act(writer, created["id"], "block")
        response = act(writer, created["id"], "block")
        assert response.status_code == 409 and response.json()["code"] == "CUSTOMER_ALREADY_BLOCKED"
        assert len(announced(created["id"])) == 1


class TestUnblock:
    def test_unblocks_a_blocked_customer_and_announces_it(self, create_customer, writer):
        created = create_customer()
        act(writer, created["id"], "block")
        response = act(writer, created["id"], "unblock", {"reason": "cleared"})
        assert response.status_code == 200 and response.json()["status"] == "active" and response.json()["version"] == 3
        assert announced(created["id"])[-1] == (
            "user.unblocked",
            {**state(created, version=3, status="active"), "reason": "cleared"},
        )

    def test_unblocking_an_active_customer_is_409(self, create_customer, writer):
        created = create_customer()
        response = act(writer, created["id"], "unblock")
        assert response.status_code == 409 and response.json()["code"] == "CUSTOMER_NOT_BLOCKED"
        assert announced(created["id"]) == [] and Customer.objects.get(id=created["id"]).version == 1


class TestClose:
    @pytest.mark.parametrize("blocked_first", [False, True])
    def test_closes_an_active_or_blocked_customer_keeping_the_record(self, create_customer, writer, blocked_first):
        created = create_customer()
        if blocked_first:
            act(writer, created["id"], "block")
        response = act(writer, created["id"], "close", {"reason": "customer asked"})
        assert response.status_code == 200 and response.json()["status"] == "closed"
        assert Customer.objects.filter(id=created["id"], status="closed").exists()
        assert announced(created["id"])[-1] == (
            "user.closed",
            {**state(created, version=3 if blocked_first else 2, status="closed"), "reason": "customer asked"},
        )

    @pytest.mark.parametrize("action", ["block", "unblock", "close"])
    def test_nothing_can_happen_to_a_closed_customer(self, create_customer, writer, action):
        created = create_customer()
        act(writer, created["id"], "close")
        response = act(writer, created["id"], action)
        assert response.status_code == 409 and response.json()["code"] == "CUSTOMER_CLOSED"
        assert [event_type for event_type, _ in announced(created["id"])] == ["user.closed"]


class TestEveryStatusChange:
    @pytest.mark.parametrize("action", ["block", "unblock", "close"])
    def test_an_unknown_customer_is_404(self, writer, action):
        response = act(writer, uuid.uuid4(), action)
        assert response.status_code == 404 and response.json()["code"] == "CUSTOMER_NOT_FOUND"

    @pytest.mark.parametrize("action", ["block", "unblock", "close"])
    def test_without_a_key_it_is_401(self, create_customer, action):
        assert act(Client(), create_customer()["id"], action).status_code == 401

    @pytest.mark.parametrize("action", ["block", "unblock", "close"])
    def test_a_read_only_key_is_403(self, create_customer, reader, action):
        created = create_customer()
        assert act(reader, created["id"], action).status_code == 403
        assert Customer.objects.get(id=created["id"]).status == "active"

    def test_an_old_if_match_is_412(self, create_customer, writer):
        created = create_customer()
        act(writer, created["id"], "block")
        response = act(writer, created["id"], "close", if_match='"1"')
        assert response.status_code == 412 and response.json()["code"] == "VERSION_MISMATCH"
        assert Customer.objects.get(id=created["id"]).status == "blocked"

    @pytest.mark.parametrize("reason", ["x" * 501, "a\x00b", 42])
    def test_an_invalid_reason_is_422(self, create_customer, writer, reason):
        created = create_customer()
        response = act(writer, created["id"], "block", {"reason": reason})
        assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == ["reason"]
        assert Customer.objects.get(id=created["id"]).status == "active"

    @pytest.mark.parametrize("body", [[None, None], ["fraud"]])
    def test_a_body_that_is_not_an_object_is_422(self, create_customer, writer, body):
        created = create_customer()
        response = act(writer, created["id"], "block", body)
        assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"
        assert Customer.objects.get(id=created["id"]).status == "active"
