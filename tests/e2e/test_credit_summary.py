"""End to end: credit_manager's answers about a new customer come back into user_manager's credit summary."""

import uuid

import pytest
import requests

from common.testing import wait_until

pytestmark = pytest.mark.e2e

CUSTOMER = {"full_name": "Marina Duarte", "birth_date": "1985-03-09", "monthly_income": "8400.00", "tax_id": "526.018.159-06"}


@pytest.fixture(scope="module")
def keys(platform):
    return {
        "users": platform["user_manager"].issue_key("users:read,users:write"),
        "credit": platform["credit_manager"].issue_key("credit:read"),
    }


def test_a_new_customer_s_credit_summary_is_filled_by_credit_manager(platform, keys):
    users, credit = platform["user_manager"], platform["credit_manager"]
    body = {**CUSTOMER, "email": f"{uuid.uuid4().hex[:10]}@example.com"}
    created = requests.post(f"{users.url}/api/v1/users", json=body, headers=keys["users"], timeout=10)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    def customer():
        return requests.get(f"{users.url}/api/v1/users/{user_id}", headers=keys["users"], timeout=10).json()

    def account():
        response = requests.get(f"{credit.url}/api/v1/accounts", params={"user_id": user_id}, headers=keys["credit"], timeout=10)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return items[0] if items else None

    def summary_version():
        rows = users.sql("SELECT account_version FROM credit_summary_creditsummary WHERE customer_id = %s", (user_id,))
        return rows[0][0] if rows else None

    filled = wait_until(lambda: customer()["credit"]["status"], timeout=60, what="the credit summary")
    assert filled is not None

    # credit_manager may still be analysing; the summary must end on its newest account version, not an older one.
    def converged():
        newest = account()
        shown = customer()
        return newest and summary_version() == newest["version"] and shown["credit"]["status"] == newest["status"] and (newest, shown)

    newest, shown = wait_until(converged, timeout=60, what="the summary to show the account's newest version")
    assert shown["credit"]["credit_limit"] == newest["credit_limit"]
    assert shown["credit"]["available"] == newest["available"]
    assert shown["credit"]["updated_at"] is not None and shown["credit"]["updated_at"] >= shown["created_at"]
    if newest["status"] in ("active", "denied"):  # once credit_manager analyses, its decision shows too
        assert shown["credit"]["last_decision"]["outcome"]
    received = users.sql("SELECT event_type FROM inbox_processedevent WHERE subject = %s", (user_id,))
    assert ("credit.account.opened",) in received
