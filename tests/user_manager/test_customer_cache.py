"""GET /api/v1/users/{id} is served from Redis, and a changed customer is never served stale."""

import pytest
from customer_data import credit_event, deliver

from users.cache import cached_customer
from users.models import Customer
from users.services import update_customer

pytestmark = pytest.mark.django_db(transaction=True)


def get(client, customer_id) -> dict:
    response = client.get(f"/api/v1/users/{customer_id}")
    assert response.status_code == 200, response.content
    return response.json()


class TestServedFromTheCache:
    def test_a_second_read_does_not_go_to_the_database(self, create_customer, reader):
        created = create_customer(full_name="Ana Maria Silva")
        get(reader, created["id"])
        # A write that skips the services (and so the invalidation) shows whether the cache answers.
        Customer.objects.filter(id=created["id"]).update(full_name="Changed Behind The Back")
        assert get(reader, created["id"])["full_name"] == "Ana Maria Silva"


class TestInvalidatedOnEveryChange:
    @pytest.mark.parametrize(
        "method, path, body, expected",
        [
            ("patch", "", {"full_name": "Ana Lima"}, {"full_name": "Ana Lima", "version": 2}),
            ("post", "/block", {}, {"status": "blocked", "version": 2}),
            ("post", "/close", {}, {"status": "closed", "version": 2}),
        ],
    )
    def test_the_read_after_a_change_shows_it(self, create_customer, reader, writer, method, path, body, expected):
        created = create_customer()
        get(reader, created["id"])
        send = getattr(writer, method)
        assert send(f"/api/v1/users/{created['id']}{path}", body, content_type="application/json").status_code == 200
        fresh = get(reader, created["id"])
        assert {key: fresh[key] for key in expected} == expected

    def test_the_read_after_an_unblock_shows_it(self, create_customer, reader, writer):
        created = create_customer()
        writer.post(f"/api/v1/users/{created['id']}/block", content_type="application/json")
        assert get(reader, created["id"])["status"] == "blocked"
        writer.post(f"/api/v1/users/{created['id']}/unblock", content_type="application/json")
        assert get(reader, created["id"])["status"] == "active"

    def test_the_read_after_a_credit_event_shows_the_new_summary(self, create_customer, reader):
        created = create_customer()
        assert get(reader, created["id"])["credit"]["status"] is None
        deliver(credit_event(created["id"], version=1, status="pending"))
        assert get(reader, created["id"])["credit"]["status"] == "pending"

    def test_a_reader_that_loaded_the_row_before_a_change_cannot_put_it_back_afterwards(self, create_customer, reader):
        created = create_customer(full_name="Ana Maria Silva")

        def load_then_lose_the_race():
            stale = Customer.objects.get(id=created["id"])
            update_customer(customer_id=created["id"], full_name="Ana Lima")  # commits and invalidates meanwhile
            return stale.full_name

        assert cached_customer(created["id"], load_then_lose_the_race) == "Ana Maria Silva"
        assert get(reader, created["id"])["full_name"] == "Ana Lima"


class TestTheCachedAnswer:
    def test_is_the_answer_every_customer_endpoint_gives_byte_for_byte(self, create_customer, reader, writer):
        created = create_customer()
        deliver(credit_event(created["id"], version=1, status="active"))
        changed = writer.patch(f"/api/v1/users/{created['id']}", {"full_name": "Ana Lima"}, content_type="application/json")
        first, cached = (reader.get(f"/api/v1/users/{created['id']}") for _ in range(2))
        assert first.content == cached.content == changed.content
        assert first["ETag"] == cached["ETag"] == changed["ETag"] == '"2"'
        assert cached["Content-Type"] == changed["Content-Type"]

    def test_an_unknown_customer_is_a_404_and_nothing_is_cached(self, reader):
        missing = "/api/v1/users/00000000-0000-0000-0000-000000000000"
        for _ in range(2):
            response = reader.get(missing)
            assert response.status_code == 404 and response.json()["code"] == "CUSTOMER_NOT_FOUND"
