"""Kept database connections: checked before each request or task uses them, without a round trip while sound."""

import select

import pytest
from django.db import close_old_connections, connection
from django.db.backends.postgresql import base as django_postgresql

from common.testing import separate_connection, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pings(monkeypatch) -> list[int]:
    """The backend pids Django's own check (``SELECT 1``) was sent to."""
    sent, ping = [], django_postgresql.DatabaseWrapper.is_usable

    def counted(wrapper):
        sent.append(wrapper.connection.get_backend_pid())
        return ping(wrapper)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", counted)
    return sent


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def from_another_connection(sql: str, params: list) -> None:
    with separate_connection() as other, other.cursor() as cursor:
        cursor.execute(sql, params)


def socket_readable() -> bool:
    return bool(select.select([connection.connection.fileno()], [], [], 0)[0])


def test_a_sound_idle_connection_is_used_again_without_a_query(pings):
    pid = backend_pid()
    close_old_connections()  # what the start of a request or a queue task does
    assert backend_pid() == pid
    assert pings == []


def test_a_connection_the_server_ended_is_replaced_before_the_next_request_uses_it(pings):
    pid = backend_pid()
    from_another_connection("SELECT pg_terminate_backend(%s)", [pid])  # a restart or a failover does the same
    wait_until(socket_readable, timeout=5, what="the server's closing message")
    close_old_connections()
    assert backend_pid() != pid
    assert pings == [pid]


def test_a_connection_with_something_unread_is_checked_with_a_query_and_kept_when_sound(pings):
    pid = backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN connection_check")
    from_another_connection("NOTIFY connection_check", [])
    wait_until(socket_readable, timeout=5, what="the notification")
    close_old_connections()
    assert backend_pid() == pid
    assert pings == [pid]
