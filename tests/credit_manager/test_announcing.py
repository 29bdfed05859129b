"""How an account's events are written: in the change's transaction, and the events of one change
together (their outbox rows inserted by the statement that appends their audit entries), never
outliving a change that rolled back."""

import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from support import events_of, onboard, spend, user_created

from accounts.models import CreditAccount
from accounts.services import (
    announced_together,
    follow_customer_status,
    freeze_account,
    lock_account,
    write_with_announcements,
)
from analysis.models import CreditDecision
from common.audit.actors import acting_for_event
from common.audit.models import AuditEntry, AuditHead
from common.audit.services import verify
from common.messaging.tasks import process_event
from common.outbox.models import OutboxEvent
from ledger.models import LedgerEntry, LedgerTransaction

pytestmark = pytest.mark.django_db


def inserting_into(captured: CaptureQueriesContext, model) -> list[int]:
    """The statements (by their place among those captured) that insert into the model's table."""
    into = f'INSERT INTO "{model._meta.db_table}"'
    return [
        place
        for place, query in enumerate(captured.captured_queries)
        if into in query["sql"] or into.replace('"', "") in query["sql"]
    ]


def test_opening_and_analysing_an_account_writes_the_account_its_decision_and_its_three_events_in_one_statement():
    event = user_created()
    with CaptureQueriesContext(connection) as captured:
        assert process_event.apply(args=[event.to_json()]).get() == "handled"
    account = CreditAccount.objects.get(user_id=event.data["user_id"])
    types = ["credit.account.opened", "credit.analysis.completed", "credit.limit.changed"]
    assert [envelope["type"] for envelope in events_of(account)] == types
    assert list(AuditEntry.objects.filter(subject_id=account.id).order_by("sequence").values_list("action", flat=True)) == types
    assert verify() == (3, [])
    [statement] = inserting_into(captured, AuditEntry)
    assert inserting_into(captured, OutboxEvent) == inserting_into(captured, CreditAccount) == [statement]
    assert inserting_into(captured, CreditDecision) == [statement]
    assert not [query for query in captured.captured_queries if f'UPDATE "{CreditAccount._meta.db_table}"' in query["sql"]]


def test_a_purchase_writes_its_transaction_and_lines_in_the_statement_that_writes_its_event(active_account):
    with acting_for_event(event_id="e-1", source="test", event_type="test"), CaptureQueriesContext(connection) as captured:
        spend(active_account, "10.00")
    [statement] = inserting_into(captured, AuditEntry)
    assert inserting_into(captured, OutboxEvent) == inserting_into(captured, LedgerTransaction) == [statement]
    assert inserting_into(captured, LedgerEntry) == [statement]
    assert verify() == (AuditEntry.objects.count(), [])


def test_a_change_locks_the_head_of_the_accounts_audit_trail_with_the_account_and_the_chain_holds(active_account):
    with acting_for_event(event_id="e-1", source="test", event_type="test"), CaptureQueriesContext(connection) as captured:
        spend(active_account, "10.00")
        spend(active_account, "5.00")
    heads = [query["sql"] for query in captured.captured_queries if AuditHead._meta.db_table in query["sql"]]
    assert len(heads) == 4  # per purchase: the account's lock, then the append that moves the head
    assert all("FOR UPDATE" in sql or "WITH entry AS" in sql for sql in heads)
    assert verify() == (AuditEntry.objects.count(), [])


def test_rows_handed_to_a_block_that_announced_nothing_are_written_alone():
    row = OutboxEvent(event_id=uuid.uuid4(), event_type="t", topic="t", key="k", subject="s", envelope={})
    with transaction.atomic(), announced_together():
        write_with_announcements([row])
    assert OutboxEvent.objects.filter(event_id=row.event_id).exists()


def test_what_a_block_announced_is_not_written_when_the_block_fails():
    account = onboard()
    published = len(events_of(account))
    with pytest.raises(RuntimeError, match="the network went away"), transaction.atomic():
        with acting_for_event(event_id="e-1", source="user_manager", event_type="user.updated"), announced_together():
            follow_customer_status(lock_account(account_id=account.id), customer_status="blocked")
            raise RuntimeError("the network went away")
    account.refresh_from_db()
    assert account.status == "active"
    assert len(events_of(account)) == published


def test_an_event_announced_inside_a_savepoint_of_a_block_is_refused():
    """A savepoint rolled back while the block went on would take the change and leave its event."""
    account = onboard()
    with pytest.raises(RuntimeError, match="inside a savepoint"), transaction.atomic(), announced_together():
        with transaction.atomic():
            freeze_account(user_id=account.user_id)
    account.refresh_from_db()
    assert account.status == "active"


def test_blocks_inside_a_block_join_it():
    account = onboard()
    with transaction.atomic(), announced_together():
        locked = lock_account(account_id=account.id)
        follow_customer_status(locked, customer_status="blocked")
        with announced_together():
            follow_customer_status(locked, customer_status="active")
    assert [envelope["type"] for envelope in events_of(account)][-2:] == ["credit.account.frozen", "credit.account.unfrozen"]
    assert Decimal(events_of(account)[-1]["data"]["available"]) == account.credit_limit


def test_a_change_no_actor_made_still_writes_its_events_without_an_audit_entry():
    """A change made by the platform itself (no operator, API key or event behind it) has no entry to
    append: its outbox rows are inserted on their own."""
    account = onboard()
    entries, published = AuditEntry.objects.count(), len(events_of(account))
    freeze_account(user_id=account.user_id)
    assert [envelope["type"] for envelope in events_of(account)[published:]] == ["credit.account.frozen"]
    assert AuditEntry.objects.count() == entries
