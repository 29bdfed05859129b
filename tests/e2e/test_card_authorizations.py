"""End to end over real Kafka: a card authorization shows as held in user_manager's credit summary, and
leaves it when captured (the balance grows) or reversed."""

import uuid
from decimal import Decimal

import pytest
import requests

from common.testing import wait_until
from customers import new_cpf

pytestmark = pytest.mark.e2e

CUSTOMER = {"full_name": "Rafael Lima", "birth_date": "1984-07-21", "monthly_income": "8000.00"}
MERCHANT = {"name": "Posto Central", "mcc": "5542", "country": "BR"}


@pytest.fixture(scope="module")
def keys(platform):
    return {
        "users": platform["user_manager"].issue_key("users:read,users:write"),
        "credit": platform["credit_manager"].issue_key("credit:read,credit:write"),
    }


def test_a_hold_shows_in_the_credit_summary_until_captured_or_reversed(platform, keys):
    users, credit = platform["user_manager"], platform["credit_manager"]
    created = requests.post(
        f"{users.url}/api/v1/users",
        json={**CUSTOMER, "tax_id": new_cpf(), "email": f"{uuid.uuid4().hex[:10]}@example.com"},
        headers=keys["users"],
        timeout=10,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    def account():
        items = requests.get(
            f"{credit.url}/api/v1/accounts", params={"user_id": user_id}, headers=keys["credit"], timeout=10
        ).json()["items"]
        return items[0] if items and items[0]["status"] == "active" else None

    active = wait_until(account, timeout=60, what="the customer's credit account to be active")
    limit = Decimal(active["credit_limit"])

    def post(path: str, body: dict) -> dict:
        response = requests.post(
            f"{credit.url}/api/v1/{path}", json=body, headers={**keys["credit"], "Idempotency-Key": uuid.uuid4().hex}, timeout=10
        )
        assert response.status_code == 201, response.text
        return response.json()

    def summary_shows(balance: str, held: str):
        def shown():
            credit_summary = requests.get(f"{users.url}/api/v1/users/{user_id}", headers=keys["users"], timeout=10).json()[
                "credit"
            ]
            figures = (credit_summary["balance"], credit_summary["held"], credit_summary["available"])
            return figures == (balance, held, f"{limit - Decimal(balance) - Decimal(held):.2f}") and figures

        return wait_until(shown, timeout=60, what=f"the summary to show balance {balance}, held {held}")

    fuel = post(
        f"accounts/{active['id']}/authorizations", {"amount": "250.00", "merchant": MERCHANT, "network_reference": "e2e-1"}
    )
    assert fuel["status"] == "pending"
    summary_shows("0.00", "250.00")

    post(f"authorizations/{fuel['id']}/captures", {"amount": "200.00"})
    summary_shows("200.00", "0.00")

    second = post(
        f"accounts/{active['id']}/authorizations", {"amount": "80.00", "merchant": MERCHANT, "network_reference": "e2e-2"}
    )
    summary_shows("200.00", "80.00")
    post(f"authorizations/{second['id']}/reversals", {})
    summary_shows("200.00", "0.00")
