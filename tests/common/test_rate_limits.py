"""Rate limits per API key and per client address, reads and writes counted apart, in the suite's real
Redis (where every API process counts together): past a limit the API answers 429 ``RATE_LIMITED``
with ``Retry-After``, the seconds until the window ends; with Redis away it lets requests through.

The limits are set small per test (the defaults are far above what any suite sends)."""

import logging
import time

import pytest
from django.test import Client, RequestFactory

from common import ratelimit
from common.ratelimit import READS, WRITES, RateLimit, count_request, counted_address
from common.testing import cache_away

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

USERS = "/api/v1/users"
GENEROUS = 1000


@pytest.fixture
def limits(settings):
    """``limits(reads_per_key=2, ...)``: the limits in force for the test; those not named stay generous."""

    def set_limits(*, reads_per_key=GENEROUS, writes_per_key=GENEROUS, reads_per_address=GENEROUS, writes_per_address=GENEROUS,
                   window=60, trusted_proxies=0) -> None:  # fmt: skip
        settings.API_RATE_LIMIT_READS_PER_KEY = reads_per_key
        settings.API_RATE_LIMIT_WRITES_PER_KEY = writes_per_key
        settings.API_RATE_LIMIT_READS_PER_ADDRESS = reads_per_address
        settings.API_RATE_LIMIT_WRITES_PER_ADDRESS = writes_per_address
        settings.API_RATE_LIMIT_WINDOW_SECONDS = window
        settings.TRUSTED_PROXY_COUNT = trusted_proxies

    return set_limits


def read(client: Client, **extra):
    return client.get(USERS, **extra)


def write(client: Client, **extra):
    """A write (an empty registration: refused as invalid, after it was counted)."""
    return client.post(USERS, {}, content_type="application/json", **extra)


def assert_rate_limited(response, *, window: int = 60) -> None:
    assert response.status_code == 429, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"code": "RATE_LIMITED", "detail": "Too many requests; try again after the seconds in Retry-After."}
    assert 1 <= int(response["Retry-After"]) <= window


class TestPerKey:
    def test_past_its_limit_a_key_is_answered_429_with_retry_after(self, api_client, limits):
        limits(reads_per_key=3)
        reader = api_client("users:read")
        assert [read(reader).status_code for _ in range(3)] == [200, 200, 200]
        assert_rate_limited(read(reader))

    def test_another_key_from_the_same_address_keeps_its_own_count(self, api_client, limits):
        limits(reads_per_key=2)
        spent = api_client("users:read")
        read(spent), read(spent)
        assert read(spent).status_code == 429
        assert read(api_client("users:read")).status_code == 200


class TestPerAddress:
    def test_the_keys_of_one_address_share_its_limit(self, api_client, limits):
        limits(reads_per_address=3)
        assert [read(api_client("users:read")).status_code for _ in range(3)] == [200, 200, 200]
        assert_rate_limited(read(api_client("users:read")))
        assert read(api_client("users:read"), REMOTE_ADDR="10.0.0.2").status_code == 200

    def test_requests_without_a_valid_key_count_against_the_address(self, api_client, limits):
        limits(reads_per_address=2)
        guesser = Client(headers={"Authorization": "Bearer us_not-a-key"})
        assert [read(guesser).status_code for _ in range(2)] == [401, 401]
        assert_rate_limited(read(guesser))
        assert_rate_limited(read(api_client("users:read")))  # a valid key from there too: a guess that hit tells nothing

    def test_x_forwarded_for_is_not_trusted_unless_proxies_are_configured(self, api_client, limits):
        limits(reads_per_address=2)
        reader = api_client("users:read")
        statuses = [read(reader, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(3)]
        assert statuses == [200, 200, 429]

    def test_behind_a_trusted_proxy_the_client_is_the_address_the_proxy_saw(self, api_client, limits):
        limits(reads_per_address=2, trusted_proxies=1)
        reader = api_client("users:read")
        through_proxy = {"REMOTE_ADDR": "10.0.0.1"}
        assert read(reader, HTTP_X_FORWARDED_FOR="203.0.113.7", **through_proxy).status_code == 200
        assert read(reader, HTTP_X_FORWARDED_FOR="203.0.113.7", **through_proxy).status_code == 200
        # What the client wrote on the left is its own claim; the proxy appended what it saw.
        assert read(reader, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7", **through_proxy).status_code == 429
        assert read(reader, HTTP_X_FORWARDED_FOR="203.0.113.8", **through_proxy).status_code == 200

    def test_an_ipv6_client_counts_by_its_64(self, limits):
        limits()
        factory = RequestFactory()
        one, other = (counted_address(factory.get(USERS, REMOTE_ADDR=f"2001:db8:0:1::{n}")) for n in (1, 2))
        assert one == other == "2001:db8:0:1::/64"
        assert counted_address(factory.get(USERS, REMOTE_ADDR="2001:db8:0:2::1")) != one


class TestReadsAndWrites:
    def test_writes_past_their_limit_leave_reads_alone(self, api_client, limits):
        limits(writes_per_key=2, reads_per_key=2)
        client = api_client("users:read", "users:write")
        assert [write(client).status_code for _ in range(2)] == [422, 422]
        assert_rate_limited(write(client))
        assert [read(client).status_code for _ in range(2)] == [200, 200]
        assert_rate_limited(read(client))

    def test_reads_past_their_limit_leave_writes_alone(self, api_client, limits):
        limits(reads_per_address=1)
        client = api_client("users:read", "users:write")
        read(client)
        assert read(client).status_code == 429
        assert write(client).status_code == 422

    def test_an_operation_can_be_counted_with_another_group(self, limits):
        """``throttle=RateLimit(WRITES)`` on a costly read: it counts with the writes."""
        limits(writes_per_address=1)
        costly_read = RequestFactory().get(USERS)
        assert RateLimit(WRITES).allow_request(costly_read)
        limit = RateLimit(WRITES)
        assert not limit.allow_request(costly_read) and limit.wait() >= 1
        assert RateLimit().allow_request(costly_read)


class TestLeases:
    """Each process leases a few requests at a time from the shared counter instead of asking Redis for each."""

    def test_processes_ask_redis_once_a_lease_and_together_never_let_more_than_the_limit_through(self, limits, monkeypatch):
        limits(reads_per_key=100, reads_per_address=100)  # leases of 2 requests
        request, processes, leases_taken = RequestFactory().get(USERS), [{}, {}, {}], []
        take = ratelimit._lease
        monkeypatch.setattr(ratelimit, "_lease", lambda *a, **kw: leases_taken.append(1) or take(*a, **kw))
        allowed = 0
        for n in range(150):
            monkeypatch.setattr(ratelimit, "_leases", processes[n % 3])  # three processes' memories, in turn
            allowed += count_request(request, READS, key_id=7) is None
        assert 100 - 3 * 2 <= allowed <= 100, "at most the limit, and at most a lease per process left unspent"
        assert len(leases_taken) <= 100 // 2 + 3 * 2, "one round trip per lease, not per request"

    def test_many_client_addresses_do_not_grow_the_leases_without_end(self, limits, monkeypatch):
        limits(window=1)
        monkeypatch.setattr(ratelimit, "MAX_LEASES", 10)
        monkeypatch.setattr(ratelimit, "_leases", {})
        for n in range(30):
            count_request(RequestFactory().get(USERS, REMOTE_ADDR=f"10.0.0.{n}"), READS, key_id=None)
        time.sleep(1.1)
        count_request(RequestFactory().get(USERS, REMOTE_ADDR="10.0.1.1"), READS, key_id=None)
        assert len(ratelimit._leases) == 1


class TestWindow:
    def test_the_count_starts_again_when_the_window_ends(self, api_client, limits):
        limits(reads_per_key=1, window=1)
        reader = api_client("users:read")
        assert read(reader).status_code == 200
        refused = read(reader)
        assert_rate_limited(refused, window=1)
        time.sleep(int(refused["Retry-After"]) + 0.1)
        assert read(reader).status_code == 200


class TestRedisAway:
    @pytest.mark.django_db(transaction=True)
    def test_requests_go_through_and_the_outage_is_logged_without_key_or_address(self, api_client, limits, caplog, monkeypatch):
        limits(reads_per_key=1, reads_per_address=1)
        monkeypatch.setattr(ratelimit, "_last_warning", float("-inf"))
        reader = api_client("users:read")
        key = reader.defaults["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
        with cache_away(), caplog.at_level(logging.WARNING, logger="common.ratelimit"):
            statuses = [read(reader).status_code for _ in range(3)]
            unauthenticated = read(Client()).status_code
        assert statuses == [200, 200, 200] and unauthenticated == 401
        warnings = [r.getMessage() for r in caplog.records if r.name == "common.ratelimit"]
        assert warnings == ["rate limits not applied, Redis is unavailable: ConnectionError"]
        assert not any(key in m or "127.0.0.1" in m for m in warnings)
