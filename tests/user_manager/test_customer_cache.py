"""GET /api/v1/users/{id} is served from this process's memory or Redis, and a changed customer is never
served stale once its change is announced."""

from collections.abc import Callable, Iterator

import pytest
from customer_data import credit_event, deliver
from django.core.cache import cache
from django_redis import get_redis_connection

from common import cache as token_cache
from common.process_memory import announce_forget, announcement, ensure_listening, listening
from common.testing import wait_until
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


class TestServedFromThisProcesssMemory:
    def test_a_hot_customer_is_answered_without_asking_redis(self, create_customer, reader):
        created = create_customer(full_name="Ana Maria Silva")
        get(reader, created["id"])
        cache.clear()  # Redis forgot everything; this process did not
        Customer.objects.filter(id=created["id"]).update(full_name="Changed Behind The Back")
        assert get(reader, created["id"])["full_name"] == "Ana Maria Silva"

    def test_a_change_announced_by_another_process_is_dropped_here(self, create_customer, reader):
        created = create_customer(full_name="Ana Maria Silva")
        get(reader, created["id"])
        # Another process's change: committed, its token replaced in Redis, then announced.
        Customer.objects.filter(id=created["id"]).update(full_name="Ana Lima")
        cache.delete(f"customer:{created['id']}:token")
        assert get(reader, created["id"])["full_name"] == "Ana Maria Silva", "not announced yet"
        announce_forget("cache:customer", f"customer:{created['id']}")  # as the changing process does
        wait_until(
            lambda: get(reader, created["id"])["full_name"] == "Ana Lima", timeout=1, interval=0.05, what="the announcement"
        )

    def test_nothing_is_answered_from_memory_once_announcements_may_have_been_missed(self, create_customer, reader):
        created = create_customer(full_name="Ana Maria Silva")
        get(reader, created["id"])
        Customer.objects.filter(id=created["id"]).update(full_name="Ana Lima")
        cache.delete(f"customer:{created['id']}:token")
        get_redis_connection("default").client_kill_filter(_type="pubsub")  # the listener subscribes again
        wait_until(
            lambda: get(reader, created["id"])["full_name"] == "Ana Lima", timeout=5, interval=0.1, what="a new subscription"
        )


@pytest.fixture
def announcements() -> Iterator[Callable[[], list[str]]]:
    """``announcements()``: what was announced on this service's channel since the fixture subscribed
    (once this process listens too, so that it keeps what it reads)."""
    ensure_listening()
    wait_until(listening, timeout=5, interval=0.05, what="this process's listener")
    channel, _ = announcement("cache:customer", "")
    listener = get_redis_connection("default").pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    wait_until(lambda: listener.subscribed and listener.get_message(timeout=0.1) is None, timeout=2, what="the subscription")

    def heard() -> list[str]:
        messages = []
        while (message := listener.get_message(timeout=0.3)) is not None:
            messages.append(message["data"].decode())
        return messages

    yield heard
    listener.close()


class TestAnnouncedOnlyWhereItMayBeKept:
    """Every announcement wakes every listening process: only the change of a customer some process read
    lately (and so marked as kept) is announced."""

    def test_a_change_of_a_customer_no_process_read_is_not_announced(self, create_customer, announcements):
        created = create_customer()
        update_customer(customer_id=created["id"], full_name="Ana Lima")
        assert announcements() == []

    def test_the_first_change_after_a_read_is_announced_and_the_next_not_until_it_is_read_again(
        self, create_customer, reader, announcements
    ):
        created = create_customer()
        get(reader, created["id"])
        update_customer(customer_id=created["id"], full_name="Ana Lima")
        update_customer(customer_id=created["id"], full_name="Ana Souza")
        get(reader, created["id"])
        update_customer(customer_id=created["id"], full_name="Ana Reis")
        assert announcements() == [f"cache:customer customer:{created['id']}"] * 2

    def test_a_change_whose_invalidation_failed_is_announced_before_this_process_reads_again(
        self, create_customer, reader, announcements, monkeypatch
    ):
        created = create_customer()
        get(reader, created["id"])

        def redis_away():
            raise ConnectionError("redis://cache:6379 refused")

        with monkeypatch.context() as away:
            away.setattr(token_cache, "_replace_token_script", redis_away)
            update_customer(customer_id=created["id"], full_name="Ana Lima")
        assert announcements() == []
        assert get(reader, created["id"])["full_name"] == "Ana Lima"
        assert announcements() == [f"cache:customer customer:{created['id']}"]


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
