"""PATCH /api/v1/users/{id}: contact details and income change, announced by user.updated; If-Match guards it."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from common.customer_lookup import email_digest
from common.outbox.models import OutboxEvent
from users.models import Customer
from users.services import close_customer

pytestmark = pytest.mark.django_db(transaction=True)


def patch(client, customer_id, body, **headers):
    return client.patch(f"/api/v1/users/{customer_id}", body, content_type="application/json", headers=headers)


def updates(customer_id) -> list[dict]:
    return [e.envelope["data"] for e in OutboxEvent.objects.filter(subject=customer_id, event_type="user.updated")]


class TestUpdateCustomer:
    def test_changes_the_fields_sent_and_only_those(self, create_customer, writer):
        created = create_customer()
        response = patch(writer, created["id"], {"full_name": "Ana Maria Souza", "phone": "+5521912345678"})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["full_name"] == "Ana Maria Souza" and body["phone"] == "+5521912345678"
        assert body["email"] == created["email"] and body["monthly_income"] == created["monthly_income"]

    def test_bumps_the_version_and_the_etag(self, create_customer, writer):
        created = create_customer()
        response = patch(writer, created["id"], {"full_name": "Ana Maria Souza"})
        assert response.json()["version"] == 2 and response["ETag"] == '"2"'

    def test_announces_the_changed_field_names_and_only_the_reference_of_their_values(self, create_customer, writer):
        created = create_customer()
        patch(writer, created["id"], {"email": "new.address@example.com", "full_name": "Ana Maria Souza"})
        [update] = updates(created["id"])
        reference = update.pop("reference")
        assert update == {
            "user_id": created["id"],
            "version": 2,
            "status": "active",
            "birth_date": created["birth_date"],
            "monthly_income": created["monthly_income"],
            "changed_fields": ["full_name", "email"],
        }
        assert (reference["name"], reference["email_masked"]) == ("Ana Maria Souza", "n***@example.com")
        assert reference["email_digest"] == email_digest("new.address@example.com")
        assert "new.address" not in str(reference)

    def test_an_income_change_carries_the_new_income(self, create_customer, writer):
        created = create_customer(monthly_income="5000.00")
        patch(writer, created["id"], {"monthly_income": "7250.50"})
        [update] = updates(created["id"])
        assert (update["changed_fields"], update["monthly_income"], update["version"]) == (["monthly_income"], "7250.50", 2)
        assert Customer.objects.get(id=created["id"]).monthly_income == Decimal("7250.50")

    def test_an_empty_phone_removes_it(self, create_customer, writer):
        created = create_customer(phone="+5511987654321")
        assert patch(writer, created["id"], {"phone": ""}).json()["phone"] == ""

    def test_sending_the_current_values_changes_nothing_and_announces_nothing(self, create_customer, writer):
        created = create_customer(monthly_income="5000.00")
        response = patch(writer, created["id"], {"full_name": created["full_name"], "monthly_income": "5000"})
        assert response.status_code == 200 and response.json()["version"] == 1
        assert patch(writer, created["id"], {}).json()["version"] == 1
        assert updates(created["id"]) == []

    def test_a_blocked_customer_can_still_be_updated(self, create_customer, writer):
        created = create_customer()
        assert writer.post(f"/api/v1/users/{created['id']}/block", content_type="application/json").status_code == 200
        assert patch(writer, created["id"], {"full_name": "Ana Maria Souza"}).status_code == 200


class TestIfMatch:
    def test_the_current_version_lets_the_change_through(self, create_customer, writer):
        created = create_customer()
        response = patch(writer, created["id"], {"full_name": "Ana Maria Souza"}, if_match='"1"')
        assert response.status_code == 200 and response["ETag"] == '"2"'

    def test_an_old_version_is_412_and_changes_nothing(self, create_customer, writer):
        created = create_customer()
        patch(writer, created["id"], {"full_name": "Ana Maria Souza"})
        response = patch(writer, created["id"], {"full_name": "Ana Lima"}, if_match='"1"')
        assert response.status_code == 412 and response.json()["code"] == "VERSION_MISMATCH"
        assert Customer.objects.get(id=created["id"]).full_name == "Ana Maria Souza"
        assert len(updates(created["id"])) == 1

    @pytest.mark.parametrize("if_match", ["1", 'W/"1"', '"1", "2"', '"one"', ""])
    def test_an_if_match_that_names_no_version_is_412(self, create_customer, writer, if_match):
        created = create_customer()
        response = patch(writer, created["id"], {"full_name": "Ana Lima"}, if_match=if_match)
        assert response.status_code == 412 and response.json()["code"] == "VERSION_MISMATCH"

    def test_a_star_matches_any_version(self, create_customer, writer):
        created = create_customer()
        assert patch(writer, created["id"], {"full_name": "Ana Lima"}, if_match="*").status_code == 200

    def test_two_writers_from_the_same_version_exactly_one_wins(self, create_customer, writer):
        created = create_customer()
        barrier = threading.Barrier(2)

        def update(name):
            try:
                barrier.wait()
                return patch(writer, created["id"], {"full_name": name}, if_match='"1"').status_code
            finally:
                connection.close()

        with ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(update, ["Ana Lima", "Ana Souza"]))
        assert codes == [200, 412]
        assert Customer.objects.get(id=created["id"]).version == 2 and len(updates(created["id"])) == 1


class TestRefusedUpdates:
    def test_an_email_taken_by_another_customer_in_any_case_is_409(self, create_customer, writer):
        create_customer(email="taken@example.com")
        created = create_customer()
        response = patch(writer, created["id"], {"email": "TAKEN@example.com"})
        assert response.status_code == 409 and response.json()["code"] == "EMAIL_TAKEN"
        assert Customer.objects.get(id=created["id"]).version == 1
        assert updates(created["id"]) == []

    def test_a_closed_customer_is_409(self, create_customer, writer):
        created = create_customer()
        close_customer(customer_id=created["id"])
        response = patch(writer, created["id"], {"full_name": "Ana Lima"})
        assert response.status_code == 409 and response.json()["code"] == "CUSTOMER_CLOSED"

    def test_an_unknown_customer_is_404(self, writer):
        response = patch(writer, uuid.uuid4(), {"full_name": "Ana Lima"})
        assert response.status_code == 404 and response.json()["code"] == "CUSTOMER_NOT_FOUND"

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"email": "nope"}, "email"),
            ({"email": None}, "email"),
            ({"full_name": None}, "full_name"),
            ({"full_name": "A"}, "full_name"),
            ({"monthly_income": "-5.00"}, "monthly_income"),
            ({"monthly_income": None}, "monthly_income"),
            ({"phone": "0800"}, "phone"),
        ],
    )
    def test_invalid_values_are_422_naming_the_field(self, create_customer, writer, body, field):
        created = create_customer()
        response = patch(writer, created["id"], body)
        assert response.status_code == 422, response.content
        assert [error["field"] for error in response.json()["errors"]] == [field]
        assert Customer.objects.get(id=created["id"]).version == 1

    @pytest.mark.parametrize("body", [[None, None], [], '"Ana"'])
    def test_a_body_that_is_not_an_object_is_422_not_an_empty_change(self, create_customer, writer, body):
        created = create_customer()
        response = patch(writer, created["id"], body)
        assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"

    def test_without_a_key_it_is_401(self, create_customer):
        assert patch(Client(), create_customer()["id"], {"full_name": "Ana Lima"}).status_code == 401

    def test_a_read_only_key_is_403(self, create_customer, reader):
        assert patch(reader, create_customer()["id"], {"full_name": "Ana Lima"}).status_code == 403
