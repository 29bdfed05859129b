"""POST /api/v1/users registers a customer and announces user.created in the same transaction."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from customer_data import VALID
from django.db import connection
from django.test import Client

from common.customer_lookup import email_digest, tax_id_digest
from common.outbox.models import OutboxEvent
from users.models import Customer

pytestmark = pytest.mark.django_db(transaction=True)


def post(client, body):
    return client.post("/api/v1/users", body, content_type="application/json")


class TestRegisterCustomer:
    def test_costs_a_fixed_number_of_statements(self, writer, django_assert_max_num_queries):
        """BEGIN, one statement that inserts the customer, its outbox row, its first audit entry and the
        head of its audit chain, COMMIT. Before 2026-12-03: 7 (the answer asked for the new customer's
        credit summary); 6 until the outbox row joined the audit append (2026-12-04); 5 until the customer
        and its chain's head joined it too."""
        post(writer, VALID | {"email": "warm@example.com", "tax_id": "11144477735"})  # the key is known now
        with django_assert_max_num_queries(3):
            assert post(writer, VALID).status_code == 201

    def test_creates_the_customer_and_its_user_created_event(self, writer):
        response = post(writer, VALID)
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["tax_id"] == "52998224725" and body["monthly_income"] == "5000.00" and body["status"] == "active"
        event = OutboxEvent.objects.get(subject=body["id"])
        assert event.event_type == "user.created" and event.topic == "users.events" and event.key == body["id"]
        assert event.envelope["data"] == {
            "user_id": body["id"],
            "version": 1,
            "birth_date": "1990-05-01",
            "monthly_income": "5000.00",
            "status": "active",
            "reference": {
                "name": "Ana Maria Silva",
                "tax_id_masked": "***.982.247-**",
                "email_masked": "A***@example.com",
                "tax_id_digest": tax_id_digest("52998224725"),
                "email_digest": email_digest("ana.silva@example.com"),
            },
        }

    def test_answers_with_version_1_as_etag_and_an_empty_credit_summary(self, writer):
        response = post(writer, VALID)
        assert response["ETag"] == '"1"' and response.json()["version"] == 1
        assert response.json()["credit"] == {
            "status": None,
            "credit_limit": None,
            "balance": None,
            "held": None,
            "available": None,
            "last_decision": None,
            "updated_at": None,
        }

    def test_the_phone_is_optional(self, writer):
        response = post(writer, {k: v for k, v in VALID.items() if k != "phone"})
        assert response.status_code == 201 and response.json()["phone"] == ""

    def test_the_event_carries_no_whole_email_tax_id_or_phone(self, writer):
        body = post(writer, VALID).json()
        envelope = str(OutboxEvent.objects.get(subject=body["id"]).envelope).lower()
        assert "ana.silva@example.com" not in envelope and "52998224725" not in envelope and "982.247-25" not in envelope
        assert VALID["phone"].lower() not in envelope

    def test_read_back_by_id(self, writer, reader):
        created = post(writer, VALID).json()
        response = reader.get(f"/api/v1/users/{created['id']}")
        assert response.status_code == 200 and response.json() == created


class TestTaxIdIsAValidCpf:
    @pytest.mark.parametrize("tax_id", ["529.982.247-25", "52998224725", " 529.982.247-25 "])
    def test_formatted_or_not_it_is_stored_as_11_digits(self, writer, tax_id):
        response = post(writer, {**VALID, "tax_id": tax_id})
        assert response.status_code == 201 and response.json()["tax_id"] == "52998224725"
        assert Customer.objects.get().tax_id == "52998224725"

    @pytest.mark.parametrize(
        "tax_id",
        [
            "529.982.247-26",  # second check digit wrong
            "529.982.247-15",  # first check digit wrong
            "111.111.111-11",  # repeated digits pass the arithmetic but are no CPF
            "00000000000",
            "5299822472",  # ten digits
            "529982247250",  # twelve digits
            "529-982-247.25",  # punctuation in the wrong places
            "abc.def.ghi-jk",
            "٥٢٩٩٨٢٢٤٧٢٥",  # digits of another script
            "",
        ],
    )
    def test_anything_else_is_422_naming_the_field(self, writer, tax_id):
        response = post(writer, {**VALID, "tax_id": tax_id})
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "tax_id", "message": "Value error, not a valid CPF", "type": "value_error"}
        ]
        assert not Customer.objects.exists() and not OutboxEvent.objects.exists()


class TestInvalidInput:
    def test_every_invalid_field_gets_its_own_entry(self, writer):
        body = {
            "full_name": "A",
            "email": "not-an-email",
            "tax_id": "123",
            "birth_date": "2999-01-01",
            "monthly_income": "-1.00",
            "phone": "11 98765-4321",
        }
        response = post(writer, body)
        assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"
        fields = [error["field"] for error in response.json()["errors"]]
        assert sorted(fields) == sorted(body)

    def test_missing_fields_are_named(self, writer):
        response = post(writer, {"full_name": "Ana Maria Silva"})
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"email", "tax_id", "birth_date", "monthly_income"}

    @pytest.mark.parametrize("income", ["-0.01", "12.345", "1e20", "NaN", "abc"])
    def test_income_must_be_a_non_negative_amount_in_cents(self, writer, income):
        response = post(writer, {**VALID, "monthly_income": income})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "monthly_income"

    @pytest.mark.parametrize("income", [5000, 5000.5])
    def test_income_is_a_decimal_string_not_a_json_number(self, writer, income):
        response = post(writer, {**VALID, "monthly_income": income})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "monthly_income"

    @pytest.mark.parametrize("birth_date", [0, 631152000, True])
    def test_a_birth_date_is_a_date_not_a_number(self, writer, birth_date):
        response = post(writer, {**VALID, "birth_date": birth_date})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "birth_date"

    def test_an_email_at_a_special_use_domain_is_refused(self, writer):
        response = post(writer, {**VALID, "email": "ana@silva.test"})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "email"

    @pytest.mark.parametrize("body", [[], [VALID], '"Ana"', "1"])
    def test_a_body_that_is_not_an_object_is_422(self, writer, body):
        response = post(writer, body)
        assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"
        assert not Customer.objects.exists()

    def test_a_name_with_control_characters_is_refused_not_a_500(self, writer):
        response = post(writer, {**VALID, "full_name": "Ana\x00Silva"})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "full_name"

    def test_a_body_that_is_not_json_is_400(self, writer):
        response = writer.post("/api/v1/users", "{not json", content_type="application/json")
        assert response.status_code == 400, response.content
        assert not Customer.objects.exists()


class TestUniqueness:
    def test_duplicate_email_in_another_case_is_409(self, writer):
        post(writer, VALID)
        response = post(writer, {**VALID, "email": "ANA.SILVA@EXAMPLE.COM", "tax_id": "111.444.777-35"})
        assert response.status_code == 409 and response.json()["code"] == "EMAIL_TAKEN"
        assert Customer.objects.count() == 1 and OutboxEvent.objects.count() == 1

    def test_duplicate_tax_id_formatted_differently_is_409(self, writer):
        post(writer, VALID)
        response = post(writer, {**VALID, "email": "other@example.com", "tax_id": "52998224725"})
        assert response.status_code == 409 and response.json()["code"] == "TAX_ID_TAKEN"
        assert Customer.objects.count() == 1 and OutboxEvent.objects.count() == 1

    def test_two_concurrent_creations_with_the_same_email_give_exactly_one_201(self, writer):
        barrier = threading.Barrier(2)

        def create(tax_id):
            try:
                barrier.wait()
                return post(writer, {**VALID, "tax_id": tax_id}).status_code
            finally:
                connection.close()

        with ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(create, ["529.982.247-25", "111.444.777-35"]))
        assert codes == [201, 409]
        assert Customer.objects.count() == 1 and OutboxEvent.objects.count() == 1


class TestAuthentication:
    def test_without_a_key_it_is_401(self):
        response = post(Client(), VALID)
        assert response.status_code == 401 and response.json()["code"] == "NOT_AUTHENTICATED"

    def test_with_an_unknown_key_it_is_401(self):
        response = post(Client(headers={"Authorization": "Bearer um_not-a-key"}), VALID)
        assert response.status_code == 401

    def test_a_read_only_key_is_403(self, reader):
        response = post(reader, VALID)
        assert response.status_code == 403 and response.json()["code"] == "INSUFFICIENT_SCOPE"
        assert not Customer.objects.exists()
