"""API keys: issued once, stored hashed, checked per scope; one JSON error shape for refusals."""

import time

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from common.apikeys.models import ApiKey
from common.apikeys.services import hash_key, issue_api_key, revoke_api_key
from common.errors import DomainError

pytestmark = pytest.mark.django_db

URL = "/api/v1/users/00000000-0000-0000-0000-000000000000"


def test_create_api_key_prints_the_key_once_and_stores_only_its_hash(capsys):
    call_command("create_api_key", "--name", "partner", "--scopes", "users:read,users:write")
    raw_key = capsys.readouterr().out.strip()
    key = ApiKey.objects.get(name="partner")
    assert key.key_hash == hash_key(raw_key) and raw_key not in (key.key_hash, key.prefix)
    assert key.scopes == ["users:read", "users:write"]


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

    def test_a_revoked_key_stops_working_at_once(self):
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        client = Client(headers={"Authorization": f"Bearer {raw_key}"})
        assert client.get(URL).status_code == 404
        revoke_api_key(key=key)
        assert client.get(URL).status_code == 401

    def test_a_key_revoked_elsewhere_is_refused_once_this_process_forgets_it(self, settings, monkeypatch):
        """Each API process remembers an accepted key for API_KEY_LOCAL_CACHE_SECONDS (no Redis round trip)."""
        from common.apikeys import services

        settings.API_KEY_LOCAL_CACHE_SECONDS = 5
        key, raw_key = issue_api_key(name="x", scopes=["users:read"])
        client = Client(headers={"Authorization": f"Bearer {raw_key}"})
        assert client.get(URL).status_code == 404
        # Revoked by another process: the database and Redis know it, this process's memory not yet.
        ApiKey.objects.filter(id=key.id).update(revoked_at=timezone.now())
        cache.delete(services._cache_key(key.key_hash))
        assert client.get(URL).status_code == 404
        later = time.monotonic() + 6
        monkeypatch.setattr(services.time, "monotonic", lambda: later)
        assert client.get(URL).status_code == 401
