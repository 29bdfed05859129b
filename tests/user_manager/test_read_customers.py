"""GET /api/v1/users/{id} and GET /api/v1/users: one customer, or a stable page of them."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from users.models import Customer
from users.services import block_customer, close_customer

pytestmark = pytest.mark.django_db(transaction=True)


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["items"]]


class TestGetCustomer:
    def test_answers_the_customer_with_its_version_as_etag(self, create_customer, reader):
        created = create_customer()
        response = reader.get(f"/api/v1/users/{created['id']}")
        assert response.status_code == 200 and response.json() == created
        assert response["ETag"] == '"1"'

    def test_a_closed_customer_is_still_there(self, create_customer, reader):
        created = create_customer()
        close_customer(customer_id=created["id"])
        response = reader.get(f"/api/v1/users/{created['id']}")
        assert response.status_code == 200 and response.json()["status"] == "closed"

    def test_an_unknown_id_is_404(self, reader):
        response = reader.get(f"/api/v1/users/{uuid.uuid4()}")
        assert response.status_code == 404 and response.json()["code"] == "CUSTOMER_NOT_FOUND"

    def test_an_id_that_is_not_a_uuid_is_422(self, reader):
        response = reader.get("/api/v1/users/42")
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "customer_id"

    def test_without_a_key_it_is_401(self, create_customer):
        assert Client().get(f"/api/v1/users/{create_customer()['id']}").status_code == 401

    def test_a_key_without_users_read_is_403(self, create_customer, writer):
        response = writer.get(f"/api/v1/users/{create_customer()['id']}")
        assert response.status_code == 403 and response.json()["code"] == "INSUFFICIENT_SCOPE"


class TestListCustomers:
    def test_newest_first_in_pages_with_the_total_count(self, create_customer, reader):
        created = [create_customer()["id"] for _ in range(5)]
        first = reader.get("/api/v1/users", {"page_size": 2})
        second = reader.get("/api/v1/users", {"page_size": 2, "page": 2})
        last = reader.get("/api/v1/users", {"page_size": 2, "page": 3})
        assert first.json()["count"] == 5
        assert ids(first) + ids(second) + ids(last) == created[::-1]

    def test_a_page_past_the_end_is_empty(self, create_customer, reader):
        create_customer()
        response = reader.get("/api/v1/users", {"page": 9})
        assert response.status_code == 200 and response.json() == {"items": [], "count": 1}

    def test_customers_created_at_the_same_instant_keep_one_order(self, create_customer, reader):
        created = [create_customer()["id"] for _ in range(4)]
        Customer.objects.update(created_at=timezone.now() - timedelta(days=1))
        pages = [ids(reader.get("/api/v1/users", {"page_size": 1, "page": page})) for page in (1, 2, 3, 4)]
        assert sum(pages, []) == sorted(created)

    def test_items_carry_the_credit_summary(self, create_customer, reader):
        create_customer()
        [item] = reader.get("/api/v1/users").json()["items"]
        assert item["credit"]["status"] is None

    def test_filtered_by_status(self, create_customer, reader):
        active, blocked = create_customer()["id"], create_customer()["id"]
        block_customer(customer_id=blocked)
        assert ids(reader.get("/api/v1/users", {"status": "blocked"})) == [blocked]
        assert ids(reader.get("/api/v1/users", {"status": "active"})) == [active]

    def test_searched_by_part_of_the_name_or_email_in_any_case(self, create_customer, reader):
        joana = create_customer(full_name="Joana Pereira")["id"]
        bruno = create_customer(full_name="Bruno Costa", email="bruno.costa@example.org")["id"]
        assert ids(reader.get("/api/v1/users", {"search": "pereira"})) == [joana]
        assert ids(reader.get("/api/v1/users", {"search": "COSTA@EXAMPLE.ORG"})) == [bruno]
        assert ids(reader.get("/api/v1/users", {"search": "nobody"})) == []

    def test_ordered_by_name(self, create_customer, reader):
        names = ["Carla Dias", "Ana Lima", "Bruno Reis"]
        for name in names:
            create_customer(full_name=name)
        ascending = [item["full_name"] for item in reader.get("/api/v1/users", {"ordering": "full_name"}).json()["items"]]
        descending = [item["full_name"] for item in reader.get("/api/v1/users", {"ordering": "-full_name"}).json()["items"]]
        assert ascending == sorted(names) and descending == sorted(names, reverse=True)

    @pytest.mark.parametrize(
        "params, field",
        [
            ({"ordering": "tax_id"}, "ordering"),
            ({"status": "deleted"}, "status"),
            ({"page_size": 101}, "page_size"),
            ({"page_size": 0}, "page_size"),
            ({"page": 0}, "page"),
            ({"page": 10**30}, "page"),
            ({"search": "x" * 101}, "search"),
            ({"search": "a\x00b"}, "search"),
        ],
    )
    def test_invalid_parameters_are_422_naming_them(self, reader, params, field):
        response = reader.get("/api/v1/users", params)
        assert response.status_code == 422, response.content
        assert [error["field"] for error in response.json()["errors"]] == [field]

    def test_without_a_key_it_is_401(self):
        assert Client().get("/api/v1/users").status_code == 401

    def test_a_key_without_users_read_is_403(self, writer):
        assert writer.get("/api/v1/users").status_code == 403
