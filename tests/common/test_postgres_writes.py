"""Rows written as ``save()`` would write them (several tables in one statement, or some fields of one
row), and a row read from SQL as the ORM would read it."""

import uuid

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from common.audit.models import AuditHead
from common.outbox.models import OutboxEvent
from common.postgres.reads import columns, read_instance_and_more
from common.postgres.writes import RowUpdate, update_fields, write_together

pytestmark = pytest.mark.django_db


def outbox_row(subject: str) -> OutboxEvent:
    return OutboxEvent(
        event_id=uuid.uuid4(), event_type="user.blocked", topic="users", key=subject, subject=subject, envelope={"id": subject}
    )


def test_the_groups_are_written_in_one_statement_as_save_would_write_them(django_assert_num_queries):
    events = [outbox_row("a"), outbox_row("b")]
    head = AuditHead(subject_type="customer", subject_id=uuid.uuid4(), sequence=3, entry_hash="f" * 64)
    with django_assert_num_queries(1):
        write_together(events, [head])
    stored = OutboxEvent.objects.order_by("id")
    assert [(row.subject, row.envelope, row.sent_at, row.attempts) for row in stored] == [
        ("a", {"id": "a"}, None, 0),
        ("b", {"id": "b"}, None, 0),
    ]
    assert stored[0].id < stored[1].id  # in the order given
    assert events[0].created_at is not None and stored[0].created_at == events[0].created_at  # auto_now_add, as save() sets it
    assert AuditHead.objects.filter(subject_id=head.subject_id, sequence=3).exists()
    assert not head._state.adding and not events[0]._state.adding


def test_rows_of_one_model_in_several_groups_take_the_databases_keys_in_the_order_given():
    """Separate INSERTs of one statement run in no set order; the groups of a model make one INSERT."""
    subjects = [f"s{n:02}" for n in range(20)]
    write_together(*([outbox_row(subject)] for subject in subjects))
    assert list(OutboxEvent.objects.order_by("id").values_list("subject", flat=True)) == subjects


def test_nothing_is_written_when_any_group_breaks_a_constraint():
    taken = outbox_row("a")
    write_together([taken])
    again = OutboxEvent(
        event_id=taken.event_id, event_type="user.blocked", topic="users", key="b", subject="b", envelope={}
    )  # the same event id: unique
    with pytest.raises(IntegrityError, match="duplicate key"), transaction.atomic():
        write_together([outbox_row("c")], [again])
    assert list(OutboxEvent.objects.values_list("subject", flat=True)) == ["a"]


def test_no_rows_is_no_statement(django_assert_num_queries):
    with django_assert_num_queries(0):
        write_together([], [])


def test_update_fields_writes_only_those_fields_in_one_statement(django_assert_num_queries):
    write_together([outbox_row("a")])
    row = OutboxEvent.objects.get()
    row.attempts, row.last_error, row.subject = 2, "broker away", "not written"
    with django_assert_num_queries(1):
        update_fields(row, ["attempts", "last_error"])
    stored = OutboxEvent.objects.get(id=row.id)
    assert (stored.attempts, stored.last_error, stored.subject) == (2, "broker away", "a")


def test_update_fields_of_a_row_that_is_not_there_is_refused():
    missing = outbox_row("a")
    missing.id = 123_456
    with pytest.raises(DatabaseError, match="no outboxevent 123456 to update"):
        update_fields(missing, ["attempts"])


def test_a_row_update_is_made_by_the_statement_that_inserts_the_new_rows(django_assert_num_queries):
    write_together([outbox_row("a")])
    row = OutboxEvent.objects.get()
    row.attempts, row.subject = 3, "not written"
    new = outbox_row("b")
    with django_assert_num_queries(1):
        write_together([new], RowUpdate(row, ["attempts"]))
    assert sorted(OutboxEvent.objects.values_list("subject", "attempts")) == [("a", 3), ("b", 0)]
    assert not new._state.adding


def test_a_row_update_that_finds_no_row_is_refused_and_nothing_of_its_statement_is_written():
    missing = outbox_row("a")
    missing.id = 123_456
    with pytest.raises(DatabaseError, match="a row to update is not there"), transaction.atomic():
        write_together([outbox_row("b")], RowUpdate(missing, ["attempts"]))
    assert not OutboxEvent.objects.exists()


def test_a_row_read_from_sql_is_the_instance_the_orm_reads_and_what_was_selected_after_it(django_assert_num_queries):
    write_together([outbox_row("a")])
    statement = f"SELECT {columns(OutboxEvent)}, 42, 'more' FROM {OutboxEvent._meta.db_table} WHERE subject = %s"  # nosec B608
    with django_assert_num_queries(1):
        read, more = read_instance_and_more(OutboxEvent, statement, ["a"])
    orm = OutboxEvent.objects.get(subject="a")
    assert [getattr(read, field.attname) for field in OutboxEvent._meta.concrete_fields] == [
        getattr(orm, field.attname) for field in OutboxEvent._meta.concrete_fields
    ]
    assert read.envelope == {"id": "a"} and not read._state.adding  # the JSON parsed; a saved instance
    assert more == (42, "more")
    assert read_instance_and_more(OutboxEvent, statement, ["none"]) is None
