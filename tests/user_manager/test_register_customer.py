"""POST /api/v1/users registers a customer and announces user.created in the same transaction."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from common.outbox.models import OutboxEvent
from users.models import Customer

pytestmark = pytest.mark.django_db(transaction=True)

VALID = {
    "full_name": "Ana Maria Silva",
    "email": "Ana.Silva@example.com",
    "tax_id": "529.982.247-25",
    "birth_date": "1990-05-01",
    "monthly_income": "5000.00",
    "phone": "+5511987654321",
}


def post(client, body):
    return client.post("/api/v1/users", body, content_type="application/json")


class TestRegisterCustomer:
    def test_creates_the_customer_and_its_user_created_event(self, api_client):
        response = post(api_client("users:write"), VALID)
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["tax_id"] == "52998224725" and body["monthly_income"] == "5000.00" and body["status"] == "active"
        event = OutboxEvent.objects.get(subject=body["id"])
        assert event.event_type == "user.created" and event.topic == "users.events" and event.key == body["id"]
        assert event.envelope["data"] == {
            "user_id": body["id"],
            "birth_date": "1990-05-01",
            "monthly_income": "5000.00",
            "status": "active",
        }

    def test_the_event_carries_no_name_email_or_tax_id(self, api_client):
        body = post(api_client("users:write"), VALID).json()
        envelope = str(OutboxEvent.objects.get(subject=body["id"]).envelope)
        assert "Silva" not in envelope and "example.com" not in envelope and "52998224725" not in envelope

    def test_duplicate_email_in_another_case_is_409(self, api_client):
        client = api_client("users:write")
        post(client, VALID)
        response = post(client, {**VALID, "email": "ANA.SILVA@EXAMPLE.COM", "tax_id": "111.444.777-35"})
        assert response.status_code == 409 and response.json()["code"] == "email_taken"
        assert Customer.objects.count() == 1 and OutboxEvent.objects.count() == 1

    def test_invalid_cpf_is_422_naming_the_field(self, api_client):
        response = post(api_client("users:write"), {**VALID, "tax_id": "529.982.247-26"})
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "tax_id", "message": "Value error, not a valid CPF", "type": "value_error"}]
        assert not Customer.objects.exists()

    def test_two_concurrent_creations_with_the_same_email_give_exactly_one_201(self, api_client):
        client = api_client("users:write")
        barrier = threading.Barrier(2)

        def create(tax_id):
            try:
                barrier.wait()
                return post(client, {**VALID, "tax_id": tax_id}).status_code
            finally:
                connection.close()

        with ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(create, ["529.982.247-25", "111.444.777-35"]))
        assert codes == [201, 409]
        assert Customer.objects.count() == 1 and OutboxEvent.objects.count() == 1

    def test_read_back_by_id(self, api_client):
        created = post(api_client("users:write"), VALID).json()
        response = api_client("users:read").get(f"/api/v1/users/{created['id']}")
        assert response.status_code == 200 and response.json() == created
