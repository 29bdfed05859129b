"""End to end over real Kafka: a customer created in user_manager gets a credit account, a decision and a
limit in credit_manager, and user_manager's customer shows that credit summary."""

import uuid

import pytest
import requests

from common.testing import wait_until
from customers import new_cpf

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def keys(platform):
    return {
        "users": platform["user_manager"].issue_key("users:read,users:write"),
        "credit": platform["credit_manager"].issue_key("credit:read,credit:write"),
    }


@pytest.fixture(scope="module")
def customer(platform, keys) -> dict:
    """An adult earning 8000.00 a month, registered through user_manager's API."""
    body = {
        "full_name": "Marina Alves",
        "email": f"{uuid.uuid4().hex[:10]}@example.com",
        "tax_id": new_cpf(),
        "birth_date": "1986-03-09",
        "monthly_income": "8000.00",
    }
    response = requests.post(f"{platform['user_manager'].url}/api/v1/users", json=body, headers=keys["users"], timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def credit_get(platform, keys, path: str, **params) -> requests.Response:
    return requests.get(f"{platform['credit_manager'].url}/api/v1{path}", params=params, headers=keys["credit"], timeout=10)


def analysed_account(platform, keys, user_id: str) -> dict | None:
    response = credit_get(platform, keys, "/accounts", user_id=user_id)
    items = response.json()["items"] if response.ok else []
    return items[0] if items and items[0]["status"] != "pending" else None


def credit_in_user_manager(platform, keys, user_id: str) -> dict:
    response = requests.get(f"{platform['user_manager'].url}/api/v1/users/{user_id}", headers=keys["users"], timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["credit"]


def test_the_customer_gets_an_active_account_with_a_limit_and_an_explained_decision(platform, keys, customer):
    account = wait_until(lambda: analysed_account(platform, keys, customer["id"]), timeout=60, what="the analysed account")
    assert account["status"] == "active" and account["user_id"] == customer["id"]
    # 40 or so years old (300) earning 8000.00 (350) with no history yet (150): score 800, limit 8000 × 2.
    assert (account["credit_limit"], account["balance"], account["available"]) == ("16000.00", "0.00", "16000.00")
    decision = account["current_decision"]
    assert (decision["trigger"], decision["outcome"], decision["score"], decision["policy_version"]) == (
        "onboarding",
        "approved",
        800,
        1,
    )
    assert decision["reason_codes"] == ["NO_CREDIT_HISTORY"]
    [recorded] = credit_get(platform, keys, f"/accounts/{account['id']}/decisions").json()["items"]
    assert recorded["id"] == decision["id"] and recorded["breakdown"]["income"]["points"] == 350


def test_user_manager_shows_the_customers_credit_summary(platform, keys, customer):
    account = wait_until(lambda: analysed_account(platform, keys, customer["id"]), timeout=60, what="the analysed account")

    def summary_shown():
        credit = credit_in_user_manager(platform, keys, customer["id"])
        return credit if credit.get("status") == "active" and credit.get("last_decision") else None

    credit = wait_until(summary_shown, timeout=60, what="the credit summary in user_manager")
    assert (credit["status"], credit["credit_limit"], credit["available"]) == (
        "active",
        account["credit_limit"],
        account["available"],
    )
    assert credit["last_decision"]["outcome"] == "approved"
    assert credit["last_decision"]["reason_codes"] == ["NO_CREDIT_HISTORY"]
    assert credit["last_decision"]["decided_at"] and credit["updated_at"]


def test_a_purchase_in_credit_manager_lowers_the_available_credit_shown_in_user_manager(platform, keys, customer):
    account = wait_until(lambda: analysed_account(platform, keys, customer["id"]), timeout=60, what="the analysed account")
    response = requests.post(
        f"{platform['credit_manager'].url}/api/v1/accounts/{account['id']}/transactions",
        json={"type": "purchase", "amount": "1250.00", "description": "e2e purchase"},
        headers={**keys["credit"], "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert (response.json()["balance_after"], response.json()["available_after"]) == ("1250.00", "14750.00")
    wait_until(
        lambda: credit_in_user_manager(platform, keys, customer["id"]).get("available") == "14750.00",
        timeout=60,
        what="the purchase in user_manager's credit summary",
    )
    verified = platform["credit_manager"].manage("verify_ledger", check=False)
    assert verified.returncode == 0 and verified.stdout.startswith("ledger ok:"), verified.stdout + verified.stderr
