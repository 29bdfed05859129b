"""The ``DatabaseWrapper`` Django loads for ``ENGINE = "common.postgres"``."""

from __future__ import annotations

import select

import psycopg2.extensions
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import IsolationLevel
from django.db.backends.utils import debug_transaction
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

_ANY_NEWS = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's backend, two round trips lighter: a kept connection is checked without ``SELECT 1``,
    and a transaction's ``BEGIN`` travels with its first statement.

    Health check (``CONN_HEALTH_CHECKS``): Django pings a kept connection with ``SELECT 1`` before every
    request and queue task uses it, a round trip that cost the purchase endpoint about a tenth of its
    CPU. Between transactions the server writes to a connection only to end it (a restart, a failover,
    ``pg_terminate_backend``, an idle timeout: a closing message, then end of file), so an idle
    connection whose socket has nothing to read is sound. Anything on the socket, or a connection not
    idle, gets Django's ``SELECT 1``.

    ``BEGIN``: psycopg2 outside autocommit sends ``BEGIN`` alone before a transaction's first statement,
    one more wait on the server in every transaction. Here psycopg2 stays in autocommit and the
    transactions Django opens are begun in SQL, ``BEGIN`` sent in one message with the first statement
    (the simple query protocol runs both, in order, and answers with the last one's result), and ended
    with ``COMMIT`` or ``ROLLBACK`` when the server says a transaction is open. What Django sees, its
    atomic blocks, savepoints and commit hooks, is unchanged; server-side cursors (``iterator()``) are
    declared ``WITH HOLD`` inside transactions too, as psycopg2 requires in autocommit.
    """

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection({**conn_params, "connection_factory": _Connection, "cursor_factory": _Cursor})
        connection.autocommit = True
        if self.isolation_level != IsolationLevel.READ_COMMITTED:
            connection.begin_statement = f"BEGIN ISOLATION LEVEL {self.isolation_level.name.replace('_', ' ')}"
        return connection

    def _set_autocommit(self, autocommit: bool) -> None:
        self.connection.begin_pending = not autocommit

    def _commit(self) -> None:
        self._end_transaction("COMMIT")

    def _rollback(self) -> None:
        self._end_transaction("ROLLBACK")

    def _end_transaction(self, statement: str) -> None:
        """End the transaction the server has open, if any (none when the block sent no statement)."""
        connection = self.connection
        if connection is None:
            return
        with debug_transaction(self, statement), self.wrap_database_errors:
            if connection.info.transaction_status != TRANSACTION_STATUS_IDLE:
                with connection.cursor() as cursor:
                    cursor.execute(statement)
        # Managed by hand (autocommit off outside atomic blocks), the next transaction begins with the next statement.
        connection.begin_pending = not self.autocommit

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status == TRANSACTION_STATUS_IDLE and not _has_news(connection.fileno()):
            return True
        return super().is_usable()


class _Connection(psycopg2.extensions.connection):
    """A psycopg2 connection that knows whether the transaction Django opened still has to begin."""

    begin_pending = False
    begin_statement = "BEGIN"


class _Cursor(psycopg2.extensions.cursor):
    """Sends the pending ``BEGIN`` with the statement, in one message; alone first where it cannot join it
    (a server-side cursor's ``DECLARE``, a batch, a statement that is not plain text)."""

    def execute(self, query, vars=None):
        connection = self.connection
        if connection.begin_pending and self.name is None and isinstance(query, str):
            connection.begin_pending = False
            query = f"{connection.begin_statement};{query}"
        else:
            _begin_if_pending(connection)
        return super().execute(query, vars)

    def executemany(self, query, vars_list):
        _begin_if_pending(self.connection)
        return super().executemany(query, vars_list)

    def callproc(self, procname, parameters=None):
        _begin_if_pending(self.connection)
        return super().callproc(procname, parameters)

    def copy_expert(self, sql, file, size=8192):
        _begin_if_pending(self.connection)
        return super().copy_expert(sql, file, size)


def _begin_if_pending(connection: _Connection) -> None:
    if connection.begin_pending:
        connection.begin_pending = False
        _begin(connection)


def _begin(connection: _Connection) -> None:
    with psycopg2.extensions.cursor(connection) as cursor:
        cursor.execute(connection.begin_statement)


def _has_news(fd: int) -> bool:
    """Whether the server wrote anything (or hung up) since the last answer was read, without waiting."""
    poller = select.poll()
    poller.register(fd, _ANY_NEWS)
    return bool(poller.poll(0))
