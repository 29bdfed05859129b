"""The account endpoints: the summary with its current decision, lookup by customer, decision history,
and a Redis-cached summary that is never stale after a change."""

import uuid

import pytest
from support import onboard, post, purchase

from accounts.cache import cached_account
from accounts.models import CreditAccount
from accounts.services import freeze_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client):
    return api_client("credit:read", "credit:write")


class TestSummary:
    def test_the_summary_shows_status_money_and_the_current_decision_with_its_reasons(self, client, active_account):
        body = client.get(f"/api/v1/accounts/{active_account.id}").json()
        decision = active_account.current_decision
        assert body | {"opened_at": None, "updated_at": None} == {
            "id": str(active_account.id),
            "user_id": str(active_account.user_id),
            "status": "active",
            "credit_limit": "16000.00",
            "balance": "0.00",
            "held": "0.00",
            "available": "16000.00",
            "over_limit": False,
            "currency": "BRL",
            "version": 2,
            "current_decision": {
                "id": str(decision.id),
                "trigger": "onboarding",
                "outcome": "approved",
                "score": 800,
                "reason_codes": ["NO_CREDIT_HISTORY"],
                "policy_version": 1,
                "created_at": body["current_decision"]["created_at"],
            },
            "opened_at": None,
            "updated_at": None,
        }

    def test_a_customers_account_is_found_by_user_id(self, client, active_account):
        onboard()
        page = client.get(f"/api/v1/accounts?user_id={active_account.user_id}").json()
        assert page["count"] == 1 and page["items"][0]["id"] == str(active_account.id)
        assert page["items"][0]["current_decision"]["outcome"] == "approved"

    def test_an_unknown_account_is_404(self, client):
        response = client.get(f"/api/v1/accounts/{uuid.uuid4()}")
        assert response.status_code == 404 and response.json()["code"] == "ACCOUNT_NOT_FOUND"

    def test_reading_needs_a_key_with_the_read_scope(self, client, api_client, active_account):
        from django.test import Client

        assert Client().get(f"/api/v1/accounts/{active_account.id}").status_code == 401
        assert api_client("credit:write").get(f"/api/v1/accounts/{active_account.id}").status_code == 403


class TestCache:
    def test_the_summary_is_served_from_the_cache(self, client, active_account, django_assert_num_queries):
        client.get(f"/api/v1/accounts/{active_account.id}")
        with django_assert_num_queries(0):
            assert client.get(f"/api/v1/accounts/{active_account.id}").json()["balance"] == "0.00"

    def test_a_purchase_is_never_followed_by_a_stale_read(self, client, active_account, django_capture_on_commit_callbacks):
        assert client.get(f"/api/v1/accounts/{active_account.id}").json()["available"] == "16000.00"
        with django_capture_on_commit_callbacks(execute=True):
            post(client, active_account, purchase("250.00"))
        body = client.get(f"/api/v1/accounts/{active_account.id}").json()
        assert (body["balance"], body["available"], body["version"]) == ("250.00", "15750.00", 3)

    def test_a_read_that_raced_a_change_does_not_put_the_old_state_back(
        self, client, active_account, django_capture_on_commit_callbacks
    ):
        def slow_reader():
            old = CreditAccount.objects.get(id=active_account.id)
            with django_capture_on_commit_callbacks(execute=True):  # a purchase commits while this reader is busy
                post(client, active_account, purchase("250.00"))
            return None, f"balance {old.balance}"

        assert cached_account(active_account.id, slow_reader) == (None, "balance 0.00")  # this reader saw the old state...
        assert client.get(f"/api/v1/accounts/{active_account.id}").json()["balance"] == "250.00"  # ...nobody after it does

    def test_opening_an_account_invalidates_nothing_and_a_later_change_does(self, django_capture_on_commit_callbacks):
        """Nobody can have cached an account before its opening committed: onboarding asks Redis nothing."""
        with django_capture_on_commit_callbacks() as opening:
            account = onboard()
        with django_capture_on_commit_callbacks() as freezing:
            freeze_account(user_id=account.user_id)
        assert (len(opening), len(freezing)) == (0, 1)

    def test_the_cached_answer_is_the_one_every_account_endpoint_gives(self, client, active_account):
        listed = client.get(f"/api/v1/accounts?user_id={active_account.user_id}").json()["items"]
        first, cached = (client.get(f"/api/v1/accounts/{active_account.id}") for _ in range(2))
        assert first.content == cached.content
        assert first.json() == listed[0]
        assert cached["Content-Type"] == "application/json; charset=utf-8"


class TestDecisionHistory:
    def test_every_decision_of_the_account_newest_first_with_its_breakdown(self, client, active_account):
        from decimal import Decimal

        from analysis.services import reanalyse_after_income_change

        reanalyse_after_income_change(user_id=active_account.user_id, monthly_income=Decimal("0.00"))
        page = client.get(f"/api/v1/accounts/{active_account.id}/decisions").json()
        assert page["count"] == 2
        latest, first = page["items"]
        assert (latest["trigger"], latest["outcome"], latest["granted_limit"]) == ("income_change", "denied", "0.00")
        assert latest["reason_codes"][0] == "INCOME_TOO_LOW" and latest["decided_by"] == "policy"
        assert (first["trigger"], first["outcome"], first["score"], first["policy_version"]) == ("onboarding", "approved", 800, 1)
        assert first["breakdown"]["age"] == {"age": 40, "band": 3, "points": 300}

    def test_the_decisions_of_an_unknown_account_are_404(self, client):
        assert client.get(f"/api/v1/accounts/{uuid.uuid4()}/decisions").status_code == 404


class TestOpenApi:
    def test_every_endpoint_declares_the_refusals_it_can_answer(self, client):
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        for path, operations in paths.items():
            for method, operation in operations.items():
                assert {"401", "403", "422", "429", "503"} <= set(operation["responses"]), f"{method} {path}"
        not_found = paths["/api/v1/accounts/{account_id}"]["get"]["responses"]["404"]["content"]["application/json"]
        assert not_found["schema"] == {"$ref": "#/components/schemas/AccountNotFoundError"}
        conflicts = paths["/api/v1/accounts/{account_id}/transactions"]["post"]["responses"]["409"]["content"]
        assert {"$ref": "#/components/schemas/InsufficientCreditError"} in conflicts["application/json"]["schema"]["anyOf"]
