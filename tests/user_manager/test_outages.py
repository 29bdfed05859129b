"""A backing service away during a request: a committed change always answers success, anything else
is a JSON error that changed nothing (503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``), never Django's
HTML page. The outages are real: the cache pointed at a closed port, the database connection
re-opened against a closed port."""


import pytest
from celery import current_app
from customer_data import customer_body
from django.test import Client

from common.testing import cache_away, database_away
from users.models import Customer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def queued_tasks() -> int:
    with current_app.connection_for_write() as conn:
        return conn.default_channel.client.llen("celery")


def purge_task_queue() -> None:
    with current_app.connection_for_write() as conn:
        conn.default_channel.client.delete("celery")


class TestCacheAway:
    def test_a_registration_commits_and_answers_201(self, writer):
        with cache_away():
            response = writer.post("/api/v1/users", customer_body(), content_type="application/json")
        assert response.status_code == 201, response.content
        assert Customer.objects.filter(id=response.json()["id"]).exists()

    def test_a_change_commits_answers_200_and_still_asks_for_the_relay(self, create_customer, writer):
        created = create_customer()
        purge_task_queue()
        with cache_away():
            response = writer.post(f"/api/v1/users/{created['id']}/block", content_type="application/json")
        assert response.status_code == 200, response.content
        assert Customer.objects.get(id=created["id"]).status == "blocked"
        assert queued_tasks() == 1, "the relay hook after the failed cache invalidation did not run"

    def test_reads_come_from_the_database(self, create_customer, reader):
        created = create_customer()
        with cache_away():
            response = reader.get(f"/api/v1/users/{created['id']}")
        assert response.status_code == 200 and response.json()["full_name"] == created["full_name"]

    def test_a_change_whose_invalidation_failed_is_never_served_stale_once_the_cache_is_back(
        self, create_customer, reader, writer
    ):
        created = create_customer(full_name="Ana Souza")
        assert reader.get(f"/api/v1/users/{created['id']}").json()["full_name"] == "Ana Souza"  # cached now
        with cache_away():
            changed = writer.patch(f"/api/v1/users/{created['id']}", {"full_name": "Ana Lima"}, content_type="application/json")
        assert changed.status_code == 200
        assert reader.get(f"/api/v1/users/{created['id']}").json()["full_name"] == "Ana Lima"


class TestDatabaseAway:
    def test_a_registration_is_json_503_with_retry_after_and_changes_nothing(self, writer):
        writer.get("/api/v1/users")  # the key is now known to this process: the request reaches the service
        with database_away():
            response = writer.post("/api/v1/users", customer_body(), content_type="application/json")
        assert response.status_code == 503 and response["Content-Type"] == "application/json"
        assert response.json()["code"] == "SERVICE_UNAVAILABLE" and int(response["Retry-After"]) > 0
        assert not Customer.objects.exists()


def test_an_unknown_url_under_the_api_is_a_json_404():
    response = Client().get("/api/v2/users")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
