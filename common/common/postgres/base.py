"""The ``DatabaseWrapper`` Django loads for ``ENGINE = "common.postgres"``."""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

_ANY_NEWS = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


class DatabaseWrapper(base.DatabaseWrapper):
    """Checks a kept connection (``CONN_HEALTH_CHECKS``) by looking at its socket before sending ``SELECT 1``.

    Django pings a kept connection with ``SELECT 1`` before every request and queue task uses it: a
    round trip that cost the purchase endpoint about a tenth of its CPU. Between transactions the server
    writes to a connection only to end it (a restart, a failover, ``pg_terminate_backend``, an idle
    timeout: a closing message, then end of file), so an idle connection whose socket has nothing to
    read is sound. Anything on the socket, or a connection not idle, gets Django's ``SELECT 1``.
    """

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status == TRANSACTION_STATUS_IDLE and not _has_news(connection.fileno()):
            return True
        return super().is_usable()


def _has_news(fd: int) -> bool:
    """Whether the server wrote anything (or hung up) since the last answer was read, without waiting."""
    poller = select.poll()
    poller.register(fd, _ANY_NEWS)
    return bool(poller.poll(0))
