"""Transactions on the wire: ``BEGIN`` travels in one message with a transaction's first statement, and
everything Django promises of its atomic blocks still holds."""

import uuid

import psycopg2
import pytest
from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import IsolationLevel
from psycopg2.extensions import TRANSACTION_STATUS_IDLE, TRANSACTION_STATUS_INTRANS

from common.outbox.models import OutboxEvent
from common.postgres.base import DatabaseWrapper
from common.testing import last_message_received, separate_connection

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def outbox_row() -> OutboxEvent:
    subject = uuid.uuid4().hex
    return OutboxEvent(event_id=uuid.uuid4(), event_type="user.blocked", topic="users", key=subject, subject=subject, envelope={})


def server_status() -> int:
    return connection.connection.info.transaction_status


def test_a_transaction_begins_in_the_message_of_its_first_statement():
    connection.ensure_connection()
    pid = connection.connection.get_backend_pid()
    with transaction.atomic():
        assert server_status() == TRANSACTION_STATUS_IDLE  # nothing sent yet
        OutboxEvent.objects.filter(subject="nobody").exists()
        assert server_status() == TRANSACTION_STATUS_INTRANS
        first = last_message_received(pid)
    assert first.startswith("BEGIN;SELECT")
    assert server_status() == TRANSACTION_STATUS_IDLE  # committed


def test_what_a_block_wrote_commits_with_it_and_is_seen_by_others_only_then():
    row = outbox_row()
    with separate_connection() as other:
        with transaction.atomic():
            row.save()
            with other.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM outbox_outboxevent WHERE subject = %s", [row.subject])
                assert cursor.fetchone()[0] == 0
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM outbox_outboxevent WHERE subject = %s", [row.subject])
            assert cursor.fetchone()[0] == 1


def test_a_block_that_fails_leaves_nothing_and_the_connection_works_on():
    with pytest.raises(RuntimeError, match="the change fails"), transaction.atomic():
        outbox_row().save()
        raise RuntimeError("the change fails")
    assert not OutboxEvent.objects.exists()
    assert server_status() == TRANSACTION_STATUS_IDLE
    outbox_row().save()  # outside a block: committed at once
    assert OutboxEvent.objects.count() == 1


def test_a_first_statement_the_server_refuses_ends_in_a_rollback_and_the_connection_works_on():
    with pytest.raises(Exception, match="no_such_table"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
    assert server_status() == TRANSACTION_STATUS_IDLE
    assert OutboxEvent.objects.count() == 0


def test_a_savepoint_rolled_back_keeps_what_its_block_wrote_before_it():
    kept, dropped = outbox_row(), outbox_row()
    with transaction.atomic():
        kept.save()
        with pytest.raises(RuntimeError, match="the inner change fails"), transaction.atomic():
            dropped.save()
            raise RuntimeError("the inner change fails")
    assert list(OutboxEvent.objects.values_list("subject", flat=True)) == [kept.subject]


def test_a_row_locked_in_a_block_stays_locked_until_it_commits():
    row = outbox_row()
    row.save()
    with separate_connection() as other:
        with transaction.atomic():
            OutboxEvent.objects.select_for_update().get(pk=row.pk)
            with pytest.raises(psycopg2.errors.LockNotAvailable), other.cursor() as cursor:
                cursor.execute("SELECT 1 FROM outbox_outboxevent WHERE id = %s FOR UPDATE NOWAIT", [row.pk])
        with other.cursor() as cursor:
            cursor.execute("SELECT 1 FROM outbox_outboxevent WHERE id = %s FOR UPDATE NOWAIT", [row.pk])


def test_a_block_that_sends_nothing_opens_no_transaction():
    with transaction.atomic():
        pass
    assert server_status() == TRANSACTION_STATUS_IDLE


def test_a_server_side_cursor_in_a_block_reads_inside_the_blocks_transaction():
    rows = [outbox_row() for _ in range(3)]
    with transaction.atomic():
        for row in rows:
            row.save()
        read = [event.subject for event in OutboxEvent.objects.order_by("id").iterator(chunk_size=2)]
    assert read == [row.subject for row in rows]


def test_transactions_managed_by_hand_begin_again_after_each_commit():
    transaction.set_autocommit(False)
    try:
        outbox_row().save()
        transaction.commit()
        assert server_status() == TRANSACTION_STATUS_IDLE
        outbox_row().save()
        assert server_status() == TRANSACTION_STATUS_INTRANS
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert OutboxEvent.objects.count() == 1


def test_an_isolation_level_set_in_the_options_is_the_transactions():
    settings = {
        **connection.settings_dict,
        "OPTIONS": {**connection.settings_dict["OPTIONS"], "isolation_level": IsolationLevel.REPEATABLE_READ},
    }
    repeatable = DatabaseWrapper(settings, alias="repeatable")
    try:
        repeatable.set_autocommit(False)
        with repeatable.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            assert cursor.fetchone()[0] == "repeatable read"
        repeatable.rollback()
        repeatable.set_autocommit(True)
    finally:
        repeatable.close()
