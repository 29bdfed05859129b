"""Every change of an account is in the audit trail, with the account before and the event that
announced the change after: by an API key, by an operator, or following another service's event (the
event names the change there, in that service's trail)."""

import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from support import change_authorization, onboard, post, purchase, request_authorization

from approvals.models import ApprovalRequest
from common.audit.models import AuditEntry
from common.inbox.models import ProcessedEvent

pytestmark = pytest.mark.django_db


def trail(account, *, actor_type: str | None = None) -> list[AuditEntry]:
    entries = AuditEntry.objects.filter(subject_type="account", subject_id=account.id).order_by("sequence")
    return list(entries.filter(actor_type=actor_type) if actor_type else entries)


def test_changes_following_a_customer_event_name_the_event(active_account):
    steps = [(entry.actor_type, entry.actor_name.split(": ")[-1], entry.action) for entry in trail(active_account)]
    assert steps == [
        ("event", "user.created", "credit.account.opened"),
        ("event", "user.created", "credit.analysis.completed"),
        ("event", "user.created", "credit.limit.changed"),
    ]
    created = ProcessedEvent.objects.get(subject=str(active_account.user_id), event_type="user.created")
    assert {entry.request_id for entry in trail(active_account)} == {str(created.event_id)}


def test_a_purchase_records_the_key_and_the_balance_before_and_after(api_client, active_account):
    client = api_client("credit:write")
    response = post(client, active_account, purchase("120.00"))
    [entry] = trail(active_account, actor_type="api_key")
    assert (entry.action, entry.request_id) == ("credit.transaction.posted", response["X-Request-ID"])
    assert (entry.before["balance"], entry.after["balance"], entry.after["amount"]) == ("0.00", "120.00", "120.00")
    assert entry.after["transaction_id"] == response.json()["id"]


def test_each_step_of_a_card_authorization_is_recorded(api_client, active_account):
    client = api_client("credit:write")
    authorization = request_authorization(client, active_account, "100.00").json()
    change_authorization(client, authorization["id"], "captures", {"amount": "60.00"})
    actions = [entry.action for entry in trail(active_account, actor_type="api_key")]
    assert actions == ["credit.authorization.approved", "credit.transaction.posted", "credit.authorization.captured"]
    captured = trail(active_account)[-1]
    assert (captured.after["held"], captured.after["balance"], captured.after["authorization_id"]) == (
        "0.00", "60.00", authorization["id"]
    )  # fmt: skip


def test_a_limit_request_is_recorded(api_client, active_account):
    response = api_client("credit:write").post(
        f"/api/v1/accounts/{active_account.id}/limit-requests", {"requested_limit": "9000.00"}, content_type="application/json"
    )
    assert response.status_code == 202, response.json()
    [entry] = trail(active_account, actor_type="api_key")
    assert (entry.action, entry.after["requested_limit"]) == ("credit.limit.requested", "9000.00")


def test_an_adjustment_shows_who_asked_who_approved_and_what_changed(admin_client, admin_user, client, active_account):
    admin_client.post(
        "/admin/accounts/creditaccount/",
        {"action": "ask_adjustment", "_selected_action": [str(active_account.id)], "index": 0, "direction": "debit",
         "amount": "25.00", "reason": "late fee"},
        follow=True,
    )  # fmt: skip
    checker = User.objects.create_user("checker", password="a-long-checker-password-1", is_staff=True)
    checker.user_permissions.add(*Permission.objects.filter(codename__in=["decide_approvalrequest", "view_approvalrequest"]))
    client.force_login(checker)
    asked = ApprovalRequest.objects.get()
    client.post("/admin/approvals/approvalrequest/", {"action": "approve", "_selected_action": [str(asked.id)], "index": 0})
    steps = [(entry.actor_name, entry.action) for entry in trail(active_account, actor_type="operator")]
    assert steps == [
        (admin_user.username, "approval.requested"),
        ("checker", "credit.transaction.posted"),
        ("checker", "approval.executed"),
    ]
    posted = trail(active_account, actor_type="operator")[1]
    assert (posted.before["balance"], posted.after["balance"]) == ("0.00", "25.00")
    page = admin_client.get(f"/admin/accounts/creditaccount/{active_account.id}/change/").content.decode()
    assert "credit.transaction.posted" in page and "balance: 0.00 → 25.00" in page


def test_accounts_chains_verify(api_client, capsys):
    client = api_client("credit:write")
    for account in (onboard(), onboard()):
        post(client, account, purchase("10.00"))
        request_authorization(client, account, "5.00", reference=uuid.uuid4().hex)
    call_command("verify_audit")
    assert capsys.readouterr().out == "audit ok: 10 entries\n"  # three entries of each onboarding, two by the key
