"""A backing service away during a request: a committed change always answers success, anything else
is a JSON error that changed nothing (503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``), never Django's
HTML page. The outages are real: the cache pointed at a closed port, the database connection
re-opened against a closed port."""


import pytest
from customer_data import customer_body
from django.test import Client

from common.events.payloads import USER_BLOCKED
from common.outbox.models import OutboxEvent
from common.testing import cache_away, database_away
from users.models import Customer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class TestCacheAway:
    def test_a_registration_commits_and_answers_201(self, writer):
        with cache_away():
            response = writer.post("/api/v1/users", customer_body(), content_type="application/json")
        assert response.status_code == 201, response.content
        assert Customer.objects.filter(id=response.json()["id"]).exists()

    def test_a_change_commits_with_its_event_and_answers_200(self, create_customer, writer):
        created = create_customer()
        with cache_away():
            response = writer.post(f"/api/v1/users/{created['id']}/block", content_type="application/json")
        assert response.status_code == 200, response.content
        assert Customer.objects.get(id=created["id"]).status == "blocked"
        assert OutboxEvent.objects.filter(subject=created["id"], event_type=USER_BLOCKED, sent_at__isnull=True).exists()

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


def test_a_host_django_does_not_serve_is_a_json_400():
    response = Client().get("/api/v1/users", headers={"host": "IXLZ!q4&09HsVl{"})
    assert response.status_code == 400 and response.json()["code"] == "MALFORMED_REQUEST"


def test_an_unknown_url_under_the_api_is_a_json_404():
    response = Client().get("/api/v2/users")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
