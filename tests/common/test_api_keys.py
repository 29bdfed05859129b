"""API keys: issued once, stored hashed, checked per scope; one JSON error shape for refusals; an optional
expiry and a revocation that every process honours at once; the last use recorded; never a key in a log."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_redis import get_redis_connection

from common.apikeys import services, usage
from common.apikeys.models import ApiKey
from common.apikeys.services import hash_key, issue_api_key, revoke_api_key
from common.errors import DomainError, ErrorCode
from common.process_memory import announce_forget
from common.testing import cache_away, wait_until
from common.testing_logs import every_log_line

pytestmark = pytest.mark.django_db

URL = "/api/v1/users/00000000-0000-0000-0000-000000000000"
ADMIN = "/admin/apikeys/apikey/"


def client_with(raw_key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw_key}"})


def revoked_behind_this_process(key: ApiKey) -> None:
    """What another process's revocation leaves in the database and Redis, announced to no one."""
    ApiKey.objects.filter(id=key.id).update(revoked_at=timezone.now())
    cache.delete(services._cache_key(key.key_hash))


@pytest.fixture
def redis_away():
    with cache_away():
        yield


def test_create_api_key_prints_the_key_once_and_stores_only_its_hash(capsys):
    call_command("create_api_key", "--name", "partner", "--scopes", "users:read,users:write")
    raw_key = capsys.readouterr().out.strip()
    key = ApiKey.objects.get(name="partner")
    assert key.key_hash == hash_key(raw_key) and raw_key not in (key.key_hash, key.prefix)
    assert key.scopes == ["users:read", "users:write"]
    assert key.expires_at is None


def test_unknown_scopes_are_refused():
    with pytest.raises(DomainError, match="users:delete"):
        issue_api_key(name="x", scopes=["users:delete"])


class TestAuthentication:
    def test_no_key_is_401_with_a_stable_code(self):
        response = Client().get(URL)
        assert response.status_code == 401
        assert response.json()["code"] == "NOT_AUTHENTICATED"

    def test_an_unknown_key_is_401(self):
        response = Client(headers={"Authorization": "Bearer us_not-a-key"}).get(URL)
        assert response.status_code == 401

    def test_a_key_without_the_scope_is_403(self, api_client):
        response = api_client("users:write").get(URL)
        assert response.status_code == 403
        assert response.json() == {"code": "INSUFFICIENT_SCOPE", "detail": "this API key lacks the scope(s): users:read"}

    def test_the_x_api_key_header_is_accepted(self):
        _, raw_key = issue_api_key(name="x", scopes=["users:read"])
        response = Client(headers={"X-API-Key": raw_key}).get(URL)
        assert response.status_code == 404
        assert response.json()["code"] == "CUSTOMER_NOT_FOUND"

    def test_a_key_is_accepted_with_redis_away(self, redis_away):
        _, raw_key = issue_api_key(name="x", scopes=["users:read"])
        assert client_with(raw_key).get(URL).status_code == 404


class TestExpiry:
    def test_a_key_issued_with_an_expiry_works_until_then(self):
        expires_at = timezone.now() + timedelta(days=1)
        key, raw_key = issue_api_key(name="x", scopes=["users:read"], expires_at=expires_at)
        assert ApiKey.objects.get(id=key.id).expires_at == expires_at
        assert client_with(raw_key).get(URL).status_code == 404

    @pytest.mark.parametrize("expires_at", [timezone.now() - timedelta(seconds=1), datetime(2999, 1, 1)], ids=["past", "naive"])
    def test_an_expiry_must_be_a_moment_to_come(self, expires_at):
        with pytest.raises(DomainError) as refused:
            issue_api_key(name="x", scopes=["users:read"], expires_at=expires_at)
        assert refused.value.code == ErrorCode.VALIDATION_ERROR and refused.value.errors[0]["field"] == "expires_at"
        assert not ApiKey.objects.exists()

    def test_create_api_key_takes_the_days_until_the_key_expires(self, capsys):
        call_command("create_api_key", "--name", "partner", "--scopes", "users:read", "--expires-in-days", "30")
        key = ApiKey.objects.get(name="partner")
        assert abs(key.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)

    @pytest.mark.parametrize("days", ["0", "-1", "soon"])
    def test_create_api_key_refuses_days_that_are_not_a_positive_number(self, days):
        with pytest.raises(CommandError, match="expires-in-days"):
            call_command("create_api_key", "--name", "partner", "--scopes", "users:read", "--expires-in-days", days)

    @pytest.mark.parametrize("local_cache_seconds", [5, 0], ids=["held in this process's memory", "held in Redis"])
    def test_a_key_is_refused_the_moment_it_expires_wherever_it_is_cached(self, settings, monkeypatch, local_cache_seconds):
        settings.API_KEY_LOCAL_CACHE_SECONDS = local_cache_seconds
        expires_at = timezone.now() + timedelta(hours=1)
        key, raw_key = issue_api_key(name="x", scopes=["users:read"], expires_at=expires_at)
        client = client_with(raw_key)
        assert client.get(URL).status_code == 404
        assert cache.get(services._cache_key(key.key_hash)), "accepted and cached"
        monkeypatch.setattr(timezone, "now", lambda: expires_at)
        response = client.get(URL)
        assert response.status_code == 401 and response.json()["code"] == "NOT_AUTHENTICATED"


class TestRevocation:
    def test_a_revoked_key_stops_working_at_once(self):
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        client = Client(headers={"Authorization": f"Bearer {raw_key}"})
        assert client.get(URL).status_code == 404
        revoke_api_key(key=key)
        assert client.get(URL).status_code == 401

    def test_a_key_revoked_elsewhere_is_refused_once_this_process_forgets_it(self, settings, monkeypatch):
        """Each API process remembers an accepted key for API_KEY_LOCAL_CACHE_SECONDS (no Redis round trip):
        the bound when a revocation does not reach it (its listener is not subscribed)."""
        settings.API_KEY_LOCAL_CACHE_SECONDS = 5
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        client = Client(headers={"Authorization": f"Bearer {raw_key}"})
        assert client.get(URL).status_code == 404
        # Revoked by another process: the database and Redis know it, this process's memory not yet.
        ApiKey.objects.filter(id=key.id).update(revoked_at=timezone.now())
        cache.delete(services._cache_key(key.key_hash))
        assert client.get(URL).status_code == 404
        later = time.monotonic() + 6
        monkeypatch.setattr(time, "monotonic", lambda: later)
        assert client.get(URL).status_code == 401

    def test_a_revocation_announced_by_another_process_is_honoured_here_within_a_second(self, settings):
        settings.API_KEY_LOCAL_CACHE_SECONDS = 30  # only the announcement can make this process forget the key in time
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        client = client_with(raw_key)
        assert client.get(URL).status_code == 404
        revoked_behind_this_process(key)
        announce_forget("apikey", key.key_hash)  # as the revoking process does
        wait_until(lambda: client.get(URL).status_code == 401, timeout=1, interval=0.05, what="the revocation to arrive")

    def test_a_lost_subscription_makes_this_process_forget_what_it_remembered(self, settings):
        """Revocations published while the listener was away are missed: on subscribing again it forgets every key."""
        settings.API_KEY_LOCAL_CACHE_SECONDS = 30
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        client = client_with(raw_key)
        assert client.get(URL).status_code == 404
        revoked_behind_this_process(key)
        assert client.get(URL).status_code == 404, "still remembered"
        get_redis_connection("default").client_kill_filter(_type="pubsub")
        wait_until(lambda: client.get(URL).status_code == 401, timeout=5, interval=0.1, what="the listener to subscribe again")

    def test_a_revocation_cannot_be_undone_by_a_lookup_that_read_the_key_just_before(self):
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        caller = services._look_up(key.key_hash)  # read, not yet cached ...
        cache.delete(services._cache_key(key.key_hash))
        revoke_api_key(key=key)  # ... revoked meanwhile ...
        services._cache_caller(key.key_hash, caller)  # ... and the old read arrives at the cache
        assert client_with(raw_key).get(URL).status_code == 401

    def test_revoke_api_key_revokes_the_key_with_that_prefix(self, capsys):
        key, raw_key = issue_api_key(name="partner", scopes=["users:read"])
        call_command("revoke_api_key", "--prefix", key.prefix)
        assert ApiKey.objects.get(id=key.id).revoked_at is not None
        assert key.prefix in capsys.readouterr().out
        assert client_with(raw_key).get(URL).status_code == 401

    def test_revoke_api_key_refuses_an_unknown_prefix_and_never_echoes_more_than_a_prefix(self):
        _, raw_key = issue_api_key(name="partner", scopes=["users:read"])
        with pytest.raises(CommandError) as refused:
            call_command("revoke_api_key", "--prefix", raw_key)  # a whole key pasted by mistake
        assert raw_key not in str(refused.value) and raw_key[:10] in str(refused.value)


class TestLastUse:
    def test_an_accepted_request_records_when_the_key_was_used(self):
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        before = timezone.now()
        client_with(raw_key).get(URL)
        key.refresh_from_db()
        assert before <= key.last_used_at <= timezone.now()

    def test_a_use_is_written_at_most_once_a_minute_per_key_across_processes(self):
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        client = client_with(raw_key)
        client.get(URL)
        long_ago = timezone.now() - timedelta(days=1)
        ApiKey.objects.filter(id=key.id).update(last_used_at=long_ago)
        client.get(URL)
        assert ApiKey.objects.get(id=key.id).last_used_at == long_ago, "this process wrote it this minute"
        usage._next_record.clear()  # as another process: it asks Redis, which says the use is written
        client.get(URL)
        assert ApiKey.objects.get(id=key.id).last_used_at == long_ago
        usage._next_record.clear()  # a minute later: both the process's and Redis's minute are over
        cache.delete(usage._cache_key(key.id))
        client.get(URL)
        assert ApiKey.objects.get(id=key.id).last_used_at > long_ago

    def test_a_request_never_fails_for_recording_a_use_with_redis_away(self, redis_away):
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        assert client_with(raw_key).get(URL).status_code == 404
        assert ApiKey.objects.get(id=key.id).last_used_at is not None

    def test_a_refused_key_records_no_use(self):
        key, raw_key = issue_api_key(name="x", scopes=["users:read"], expires_at=timezone.now() + timedelta(hours=1))
        revoke_api_key(key=key)
        client_with(raw_key).get(URL)
        assert ApiKey.objects.get(id=key.id).last_used_at is None


class TestAdmin:
    def test_an_operator_issues_a_key_with_an_expiry_and_sees_it_once_and_nowhere_else(self, admin_client):
        response = admin_client.post(
            f"{ADMIN}add/",
            {"name": "partner", "scopes": ["users:read"], "expires_at_0": "2999-01-01", "expires_at_1": "00:00:00"},
        )
        assert response.status_code == 200
        raw_key = re.search(r"<code>([^<]+)</code>", response.content.decode()).group(1)
        key = ApiKey.objects.get(key_hash=hash_key(raw_key))
        assert key.name == "partner" and key.expires_at == datetime(2999, 1, 1, tzinfo=UTC)
        assert "no-store" in response["Cache-Control"]
        assert not any(raw_key in cookie.value for cookie in response.cookies.values())
        assert not any(raw_key in entry.object_repr + entry.change_message for entry in LogEntry.objects.all())
        assert raw_key not in admin_client.get(ADMIN).content.decode()

    def test_an_expiry_in_the_past_is_refused_by_the_form(self, admin_client):
        response = admin_client.post(
            f"{ADMIN}add/",
            {"name": "partner", "scopes": ["users:read"], "expires_at_0": "2000-01-01", "expires_at_1": "00:00:00"},
        )
        assert response.status_code == 200 and "must be a moment in the future" in response.content.decode()
        assert not ApiKey.objects.exists()

    def test_the_list_shows_each_keys_expiry_and_last_use(self, admin_client):
        issue_api_key(name="partner", scopes=["users:read"])
        page = admin_client.get(ADMIN).content.decode()
        assert "Expires at" in page and "Last used at" in page

    def test_revoking_in_the_admin_refuses_the_key_at_once(self, admin_client):
        key, raw_key = issue_api_key(name="partner", scopes=["users:read"])
        assert client_with(raw_key).get(URL).status_code == 404
        admin_client.post(ADMIN, {"action": "revoke", "_selected_action": [key.id]})
        assert ApiKey.objects.get(id=key.id).revoked_at is not None
        assert client_with(raw_key).get(URL).status_code == 401


class TestNoKeyInLogs:
    def test_no_raw_key_reaches_a_log_whatever_happens_to_it(self, monkeypatch, admin_client, capsys):
        with every_log_line() as lines:
            call_command("create_api_key", "--name", "valid", "--scopes", "users:read")
            valid = capsys.readouterr().out.strip()
            page = admin_client.post(f"{ADMIN}add/", {"name": "from the admin", "scopes": ["users:read"]}).content.decode()
            from_the_admin = re.search(r"<code>([^<]+)</code>", page).group(1)
            revoked_key, revoked = issue_api_key(name="revoked", scopes=["users:read"])
            call_command("revoke_api_key", "--prefix", revoked_key.prefix)
            soon = timezone.now() + timedelta(hours=1)
            _, expired = issue_api_key(name="expired", scopes=["users:read"], expires_at=soon)
            _, unscoped = issue_api_key(name="unscoped", scopes=["users:write"])
            raw_keys = [valid, from_the_admin, revoked, expired, unscoped, "us_" + "x" * 43]

            def use_every_key():
                for raw_key in raw_keys:
                    client_with(raw_key).get(URL)
                    Client(headers={"X-API-Key": raw_key}).get(URL)

            use_every_key()
            monkeypatch.setattr(timezone, "now", lambda: soon)
            use_every_key()
            with cache_away():
                usage._next_record.clear()
                use_every_key()
                assert not revoke_api_key(key=revoked_key)
        logged = "\n".join(lines)
        assert f"API key {revoked_key.prefix} revoked" in logged and "API key cache unavailable" in logged
        for raw_key in raw_keys:
            assert raw_key not in logged
