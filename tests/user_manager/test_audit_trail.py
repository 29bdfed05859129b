"""The audit trail: every change of a customer by an API key or an operator is recorded append-only with
who, what, the request, before and after, hash-chained per customer with the settings' HMAC key, and
``manage.py verify_audit`` names the first entry of a chain that was edited, removed or cut short."""

import pytest
from django.db import DatabaseError, connection, transaction

from common.audit.models import AuditEntry
from common.testing import run_check
from users.models import Customer
from users.services import block_customer

pytestmark = pytest.mark.django_db


def entries_of(customer_id) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(subject_type="customer", subject_id=customer_id).order_by("sequence"))


def verify(capsys) -> tuple[int, str]:
    return run_check("verify_audit", capsys)


def tamper(sql: str, *params) -> None:
    """What someone with the database's credentials could do: the append-only trigger set aside."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_immutable")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_immutable")


@pytest.fixture
def history(create_customer, api_client):
    """A customer registered, renamed and blocked through the API: three entries."""
    customer = create_customer(full_name="Ana Souza")
    writer = api_client("users:write")
    writer.patch(f"/api/v1/users/{customer['id']}", {"full_name": "Ana Souza Lima"}, content_type="application/json")
    writer.post(f"/api/v1/users/{customer['id']}/block", {"reason": "card reported stolen"}, content_type="application/json")
    return customer


class TestWhatIsRecorded:
    def test_an_api_change_records_the_key_the_request_and_the_customer_before_and_after(self, create_customer, api_client):
        customer = create_customer(full_name="Ana Souza")
        writer = api_client("users:write")
        response = writer.patch(
            f"/api/v1/users/{customer['id']}", {"full_name": "Ana Souza Lima"}, content_type="application/json",
            headers={"X-Request-ID": "req-rename-1"},
        )  # fmt: skip
        assert response.status_code == 200
        created, renamed = entries_of(customer["id"])
        assert (created.action, created.before, created.after["full_name"]) == ("user.created", None, "Ana Souza")
        assert (renamed.sequence, renamed.action, renamed.actor_type, renamed.request_id) == (
            2,
            "user.updated",
            "api_key",
            "req-rename-1",
        )
        assert renamed.actor_name.startswith("test-")  # the key's name
        assert (renamed.before["full_name"], renamed.after["full_name"]) == ("Ana Souza", "Ana Souza Lima")
        assert (renamed.before["version"], renamed.after["version"]) == (1, 2)

    def test_an_operators_action_records_the_operator_and_the_reason(self, create_customer, admin_client, admin_user):
        customer = create_customer()
        admin_client.post(
            "/admin/users/customer/",
            {"action": "block", "_selected_action": [customer["id"]], "index": 0, "confirmed": "yes", "reason": "fraud"},
            follow=True,
        )
        blocked = entries_of(customer["id"])[-1]
        assert (blocked.action, blocked.actor_type, blocked.actor_name) == ("user.blocked", "operator", admin_user.username)
        assert (blocked.before["status"], blocked.after["status"], blocked.after["reason"]) == ("active", "blocked", "fraud")

    def test_a_change_made_outside_a_request_records_nothing(self, create_customer):
        customer = create_customer()
        block_customer(customer_id=customer["id"], reason="from a script")
        assert [entry.action for entry in entries_of(customer["id"])] == ["user.created"]

    def test_a_refused_change_records_nothing(self, history, api_client):
        response = api_client("users:write").post(f"/api/v1/users/{history['id']}/block", content_type="application/json")
        assert response.status_code == 409
        assert len(entries_of(history["id"])) == 3

    def test_the_customer_page_shows_the_trail(self, history, admin_client):
        page = admin_client.get(f"/admin/users/customer/{history['id']}/change/").content.decode()
        assert "user.blocked" in page and "status: active → blocked" in page and "card reported stolen" in page


class TestTheChain:
    def test_a_whole_trail_verifies(self, history, capsys):
        assert verify(capsys) == (0, "audit ok: 3 entries\n")

    def test_entries_cannot_be_changed_or_deleted(self, history):
        for statement in ("UPDATE audit_auditentry SET actor_name = 'someone else'", "DELETE FROM audit_auditentry"):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)

    def test_an_edited_entry_is_named(self, history, capsys):
        renamed = entries_of(history["id"])[1]
        tamper('UPDATE audit_auditentry SET after = after || \'{"full_name": "Someone Else"}\' WHERE id = %s', renamed.id)
        code, output = verify(capsys)
        assert code == 1
        assert (
            output
            == f"audit BROKEN: customer {history['id']}, entry 2 (id {renamed.id}): its content does not match its hash (edited)\n"
        )

    def test_a_deleted_entry_is_named(self, history, capsys):
        tamper("DELETE FROM audit_auditentry WHERE id = %s", entries_of(history["id"])[1].id)
        code, output = verify(capsys)
        assert code == 1 and f"customer {history['id']}, entry 3" in output and "entry 2 is missing" in output

    def test_the_newest_entries_deleted_are_caught_by_the_chains_head(self, history, capsys):
        tamper("DELETE FROM audit_auditentry WHERE id = %s", entries_of(history["id"])[-1].id)
        code, output = verify(capsys)
        assert code == 1 and "the chain ends at entry 2 but 3 were recorded" in output

    def test_an_entry_rehashed_without_the_key_is_caught(self, history, capsys, settings):
        settings.AUDIT_HMAC_KEY = "a key someone guessed"
        code, output = verify(capsys)
        assert code == 1 and "entry 1" in output and "edited" in output

    def test_one_broken_chain_leaves_the_others_verified(self, history, create_customer, capsys):
        other = create_customer()
        tamper("DELETE FROM audit_auditentry WHERE subject_id = %s", history["id"])
        code, output = verify(capsys)
        assert code == 1 and "all 3 entries are missing" in output and str(other["id"]) not in output
        assert Customer.objects.filter(id=other["id"]).exists()
