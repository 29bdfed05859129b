"""Rows of several tables written in one statement, as ``save()`` would write them."""

import uuid

import pytest
from django.db import IntegrityError, transaction

from common.audit.models import AuditHead
from common.outbox.models import OutboxEvent
from common.postgres.inserts import insert_together

pytestmark = pytest.mark.django_db


def outbox_row(subject: str) -> OutboxEvent:
    return OutboxEvent(
        event_id=uuid.uuid4(), event_type="user.blocked", topic="users", key=subject, subject=subject, envelope={"id": subject}
    )


def test_the_groups_are_written_in_one_statement_as_save_would_write_them(django_assert_num_queries):
    events = [outbox_row("a"), outbox_row("b")]
    head = AuditHead(subject_type="customer", subject_id=uuid.uuid4(), sequence=3, entry_hash="f" * 64)
    with django_assert_num_queries(1):
        insert_together(events, [head])
    stored = OutboxEvent.objects.order_by("id")
    assert [(row.subject, row.envelope, row.sent_at, row.attempts) for row in stored] == [
        ("a", {"id": "a"}, None, 0),
        ("b", {"id": "b"}, None, 0),
    ]
    assert stored[0].id < stored[1].id  # in the order given
    assert events[0].created_at is not None and stored[0].created_at == events[0].created_at  # auto_now_add, as save() sets it
    assert AuditHead.objects.filter(subject_id=head.subject_id, sequence=3).exists()
    assert not head._state.adding and not events[0]._state.adding


def test_nothing_is_written_when_any_group_breaks_a_constraint():
    taken = outbox_row("a")
    insert_together([taken])
    again = OutboxEvent(
        event_id=taken.event_id, event_type="user.blocked", topic="users", key="b", subject="b", envelope={}
    )  # the same event id: unique
    with pytest.raises(IntegrityError, match="duplicate key"), transaction.atomic():
        insert_together([outbox_row("c")], [again])
    assert list(OutboxEvent.objects.values_list("subject", flat=True)) == ["a"]


def test_no_rows_is_no_statement(django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_together([], [])
