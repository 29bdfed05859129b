"""The back offices as operators use them: headless Chromium (Debian's, driven by Playwright) against
real processes of both services; a failed test leaves screenshots in ``test-artifacts/``."""

import json
import re
import uuid
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import Page, expect

from common.testing import wait_until
from customers import new_cpf
from stack import produce_raw

pytestmark = pytest.mark.e2e

CUSTOMER = {"full_name": "Helena Prado", "birth_date": "1982-11-02", "monthly_income": "9000.00"}


@pytest.fixture(scope="module")
def keys(platform):
    return {
        "users": platform["user_manager"].issue_key("users:read,users:write"),
        "credit": platform["credit_manager"].issue_key("credit:read,credit:write"),
    }


def log_in(page: Page, service, operators, *, as_user: str | None = None) -> None:
    username, password = operators[service.name]
    username = as_user or username
    page.goto(f"{service.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{service.url}/admin/")


def logged_in(page: Page, service) -> bool:
    page.goto(f"{service.url}/admin/")
    return "/admin/login/" not in page.url


def new_customer(platform, keys, *, tax_id: str | None = None) -> tuple[str, dict]:
    """A customer registered through user_manager's API, and their credit account once credit_manager made it active."""
    users, credit = platform["user_manager"], platform["credit_manager"]
    body = {**CUSTOMER, "tax_id": tax_id or new_cpf(), "email": f"{uuid.uuid4().hex[:10]}@example.com"}
    created = requests.post(f"{users.url}/api/v1/users", json=body, headers=keys["users"], timeout=10)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    def active_account():
        page = requests.get(f"{credit.url}/api/v1/accounts", params={"user_id": user_id}, headers=keys["credit"], timeout=10)
        items = page.json()["items"]
        return items[0] if items and items[0]["status"] == "active" else None

    return user_id, wait_until(active_account, timeout=60, what="the customer's account to be active")


def test_both_admins_stay_logged_in_side_by_side_and_a_confirmed_block_shows_in_both_audit_trails(
    platform, operators, browser_context, keys
):
    users, credit = platform["user_manager"], platform["credit_manager"]
    user_id, account = new_customer(platform, keys)
    customers, accounts = browser_context.new_page(), browser_context.new_page()
    log_in(customers, users, operators)
    customers.goto(f"{users.url}/admin/users/customer/")
    log_in(accounts, credit, operators)  # in the other tab, while the customer list is open

    # An action submitted from the first tab still lands in user_manager, logged in, with its CSRF token;
    # blocking asks for confirmation and a reason first.
    customers.check(f"input[name=_selected_action][value='{user_id}']")
    customers.select_option("select[name=action]", "block")
    customers.click("button[name=index]")
    expect(customers.locator("h1")).to_have_text("Block these customers?")
    customers.fill("textarea[name=reason]", "card reported stolen by the customer")
    customers.click("input[type=submit][value='Yes, block them']")
    expect(customers.locator(".messagelist")).to_contain_text("1 customer(s) blocked.")
    assert requests.get(f"{users.url}/api/v1/users/{user_id}", headers=keys["users"], timeout=10).json()["status"] == "blocked"

    customers.goto(f"{users.url}/admin/users/customer/{user_id}/change/")
    trail = customers.locator(".field-audit_trail")
    expect(trail).to_contain_text("user.blocked")
    expect(trail).to_contain_text("card reported stolen by the customer")

    def account_trail_shows_the_freeze() -> bool:
        accounts.goto(f"{credit.url}/admin/accounts/creditaccount/{account['id']}/change/")
        text = accounts.locator(".field-audit_trail").inner_text()
        return "credit.account.frozen" in text and "user.blocked" in text

    wait_until(account_trail_shows_the_freeze, timeout=60, what="credit_manager's audit trail to show the freeze")
    assert logged_in(accounts, credit) and logged_in(customers, users)


def test_an_operator_finds_a_pending_authorization_reads_its_history_and_releases_it(platform, operators, browser_context, keys):
    users, credit = platform["user_manager"], platform["credit_manager"]
    user_id, account = new_customer(platform, keys)
    held = requests.post(
        f"{credit.url}/api/v1/accounts/{account['id']}/authorizations",
        json={
            "amount": "480.00",
            "merchant": {"name": "Hotel Atlântico", "mcc": "7011", "country": "BR"},
            "network_reference": "br-1",
        },
        headers={**keys["credit"], "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    ).json()
    assert held["status"] == "pending"

    page = browser_context.new_page()
    log_in(page, credit, operators)
    page.goto(f"{credit.url}/admin/authorizations/authorization/")
    page.get_by_role("link", name="pending (credit held)").click()
    row = page.locator("#result_list tbody tr", has_text="Hotel Atlântico")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("480.00")

    row.locator("th a").click()
    expect(page.locator("h1")).to_contain_text("View authorization")
    history = page.locator(".inline-group")
    expect(history).to_contain_text("request")
    expect(history).to_contain_text("480.00")

    page.go_back()
    page.check(f"input[name=_selected_action][value='{held['id']}']")
    page.select_option("select[name=action]", "reverse")
    page.fill("input[name=reason]", "the guest cancelled the booking")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("1 authorization(s) reversed.")
    expect(page).to_have_url(re.compile(r"/admin/authorizations/authorization/"))

    def summary_released():
        credit_summary = requests.get(f"{users.url}/api/v1/users/{user_id}", headers=keys["users"], timeout=10).json()["credit"]
        return credit_summary["held"] == "0.00" and Decimal(credit_summary["available"]) == Decimal(account["credit_limit"])

    wait_until(summary_released, timeout=60, what="user_manager's summary to show nothing held")


def test_an_operator_finds_an_account_by_cpf_and_jumps_to_the_customer(platform, operators, browser_context, keys):
    users, credit = platform["user_manager"], platform["credit_manager"]
    cpf = new_cpf()
    user_id, account = new_customer(platform, keys, tax_id=cpf)
    formatted = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    page = browser_context.new_page()
    log_in(page, credit, operators)
    log_in(page, users, operators)
    page.goto(f"{credit.url}/admin/accounts/creditaccount/")
    page.fill("#searchbar", formatted)
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(f"Helena Prado (***.{cpf[3:6]}.{cpf[6:9]}-**)")

    rows.first.locator("th a").click()
    expect(page.locator(".field-customer")).to_contain_text("Helena Prado")
    page.get_by_role("link", name="the customer's page").click()
    expect(page).to_have_url(f"{users.url}/admin/users/customer/{user_id}/change/")
    expect(page.locator(".field-full_name")).to_contain_text("Helena Prado")
    page.get_by_role("link", name="the credit account's page").click()
    expect(page).to_have_url(f"{credit.url}/admin/accounts/creditaccount/{account['id']}/change/")


def run_action(page: Page, row_value: str, action: str, **fields: str) -> None:
    page.check(f"input[name=_selected_action][value='{row_value}']")
    page.select_option("select[name=action]", action)
    for name, value in fields.items():
        field = page.locator(f"[name={name}]")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.click("button[name=index]")


def test_four_eyes_on_an_adjustment_and_a_stale_request_refused(platform, operators, chromium, keys):
    credit = platform["credit_manager"]
    _, account = new_customer(platform, keys)
    maker = chromium.new_context(viewport={"width": 1366, "height": 800}).new_page()
    checker = chromium.new_context(viewport={"width": 1366, "height": 800}).new_page()
    log_in(maker, credit, operators, as_user="maker")
    log_in(checker, credit, operators, as_user="checker")

    maker.goto(f"{credit.url}/admin/accounts/creditaccount/?q={account['id']}")
    run_action(maker, account["id"], "ask_adjustment", direction="debit", amount="12.50", reason="card replacement fee")
    expect(maker.locator(".messagelist")).to_contain_text("1 adjustment(s) asked.")
    maker.goto(f"{credit.url}/admin/approvals/approvalrequest/?status__exact=pending")
    expect(maker.locator("select[name=action] option[value=approve]")).to_have_count(0)  # a maker cannot approve

    checker.goto(f"{credit.url}/admin/approvals/approvalrequest/?status__exact=pending")
    row = checker.locator("#result_list tbody tr", has_text="debit adjustment of 12.50")
    expect(row).to_have_count(1)
    request_id = row.locator("input[name=_selected_action]").get_attribute("value")
    run_action(checker, request_id, "approve")
    expect(checker.locator(".messagelist")).to_contain_text("1 request(s) approved and executed.")
    posted = credit.sql(
        "SELECT count(*) FROM ledger_ledgertransaction WHERE account_id = %s AND type = 'adjustment'", (account["id"],)
    )[0][0]
    assert posted == 1

    # A credit adjustment asked while the balance covers it, approved after a payment left it short: stale.
    maker.goto(f"{credit.url}/admin/accounts/creditaccount/?q={account['id']}")
    run_action(maker, account["id"], "ask_adjustment", direction="credit", amount="12.50", reason="goodwill")
    requests.post(
        f"{credit.url}/api/v1/accounts/{account['id']}/transactions",
        json={"type": "payment", "amount": "12.50"},
        headers={**keys["credit"], "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    ).raise_for_status()
    checker.goto(f"{credit.url}/admin/approvals/approvalrequest/?status__exact=pending")
    row = checker.locator("#result_list tbody tr", has_text="credit adjustment of 12.50")
    run_action(checker, row.locator("input[name=_selected_action]").get_attribute("value"), "approve")
    expect(checker.locator(".messagelist")).to_contain_text("APPROVAL_STALE")
    maker.context.close()
    checker.context.close()


def test_a_dead_lettered_event_is_replayed_from_the_console_and_takes_effect_once(platform, operators, browser_context, broker):
    users = platform["user_manager"]
    user_id = uuid.uuid4()
    event_id = str(uuid.uuid4())
    state = {
        "account_id": str(uuid.uuid4()), "user_id": str(user_id), "status": "pending", "credit_limit": "0.00", "balance": "0.00",
        "available": "0.00", "currency": "BRL", "version": 1,
    }  # fmt: skip
    envelope = {
        "specversion": "1.0", "id": event_id, "source": "credit_manager", "type": "credit.account.opened", "subject": str(user_id),
        "time": "2026-01-01T00:00:00+00:00", "datacontenttype": "application/json", "data": state,
    }  # fmt: skip
    produce_raw(broker, "credit.events", json.dumps(envelope).encode(), key=str(user_id).encode())  # a customer not known yet
    wait_until(
        lambda: users.sql("SELECT id FROM messaging_deadletter WHERE event_id = %s", (event_id,)),
        timeout=60,
        what="the event in user_manager's dead letters",
    )
    users.sql(  # the cause fixed: the customer exists now
        "INSERT INTO users_customer (id, full_name, email, tax_id, birth_date, monthly_income, phone, status, version, created_at,"
        " updated_at) VALUES (%s, 'Late Arrival', %s, %s, '1980-01-01', 4000, '', 'active', 1, now(), now())",
        (str(user_id), f"{uuid.uuid4().hex[:8]}@example.com", new_cpf()),
    )

    page = browser_context.new_page()
    log_in(page, users, operators)
    page.goto(f"{users.url}/admin/messaging/deadletter/?status__exact=open")
    dead_letter_id = str(users.sql("SELECT id FROM messaging_deadletter WHERE event_id = %s", (event_id,))[0][0])
    run_action(page, dead_letter_id, "replay")
    expect(page.locator(".messagelist")).to_contain_text("1 event(s) replayed.")
    wait_until(
        lambda: users.sql("SELECT count(*) FROM credit_summary_creditsummary WHERE customer_id = %s", (str(user_id),))[0][0] == 1,
        timeout=60,
        what="the replayed event to take effect",
    )
    page.goto(f"{users.url}/admin/messaging/deadletter/")
    run_action(page, dead_letter_id, "replay")  # once more: refused, nothing applied twice
    expect(page.locator(".messagelist")).to_contain_text("DEAD_LETTER_RESOLVED")
    assert users.sql("SELECT count(*) FROM inbox_processedevent WHERE event_id = %s", (event_id,))[0][0] == 1


@pytest.fixture(scope="module")
def a_customer_holding_credit(platform, keys) -> None:
    """Something in every list: a customer, their account, and a card hold on it."""
    credit = platform["credit_manager"]
    _, account = new_customer(platform, keys)
    requests.post(
        f"{credit.url}/api/v1/accounts/{account['id']}/authorizations",
        json={
            "amount": "75.50",
            "merchant": {"name": "Restaurante Sabor da Casa", "mcc": "5812"},
            "network_reference": uuid.uuid4().hex,
        },
        headers={**keys["credit"], "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    ).raise_for_status()


LISTS = [
    *(("credit_manager", changelist) for changelist in (
        "accounts/creditaccount", "ledger/ledgertransaction", "analysis/creditdecision", "analysis/limitrequest",
        "authorizations/authorization", "approvals/approvalrequest", "messaging/deadletter", "audit/auditentry",
    )),
    *(("user_manager", changelist) for changelist in (
        "users/customer", "credit_summary/creditsummary", "audit/auditentry", "messaging/deadletter",
    )),
]  # fmt: skip


@pytest.mark.parametrize(("service", "changelist"), LISTS)
def test_back_office_lists_fit_an_operators_screen(
    platform, operators, browser_context, a_customer_holding_credit, service, changelist
):
    """At 1366 px nothing scrolls sideways, so the money columns (first) are never cut off."""
    page = browser_context.new_page()
    log_in(page, platform[service], operators)
    page.goto(f"{platform[service].url}/admin/{changelist}/")
    expect(page.locator("#changelist")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{service} {changelist} is {overflow} px wider than the screen"
