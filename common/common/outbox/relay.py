"""The relay process behind ``manage.py relay_outbox``: sends the outbox as soon as a commit wakes it.

A trigger notifies ``RELAY_CHANNEL`` when a transaction that added outbox rows commits (migration
outbox 0002). This process listens on a connection of its own and, on a notification, relays
everything pending; notifications that arrive while it sends come out as one more pass, so a burst
of commits costs one relay, whatever their rate. It also relays every ``OUTBOX_SWEEP_SECONDS``
without being woken, for rows whose notification was missed (the process was down, the listener
reconnected). Order and at-least-once come from ``relay_pending``: one relay at a time, id order,
a row marked sent only once Kafka acknowledged it.
"""

from __future__ import annotations

import logging
import os
import select
import threading

from django.conf import settings
from django.db import Error, connection

from common.outbox.services import RELAY_CHANNEL, RelayResult, relay_pending

logger = logging.getLogger(__name__)

# Another relay (the periodic sweep, a standby process) holds the lock: look again this soon, as the
# holder may have looked just before the commit that woke us.
LOCKED_RETRY_SECONDS = 0.05


class OutboxRelay:
    def __init__(self, *, sweep_seconds: float | None = None, retry_seconds: float | None = None) -> None:
        self.sweep_seconds = sweep_seconds or settings.OUTBOX_SWEEP_SECONDS
        # After a failure (broker or database away): wait this long, whatever wakes us meanwhile.
        self.retry_seconds = retry_seconds or self.sweep_seconds
        self._listener = None
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = os.pipe()

    def stop(self) -> None:
        """Finish the current pass and return from ``run`` (safe from a signal handler)."""
        self._stopping.set()
        os.write(self._wake_write, b"x")

    def run(self) -> None:
        logger.info("outbox relay started")
        try:
            while not self._stopping.is_set():
                result = self._pass()
                if result is None or result.failed:
                    self._stopping.wait(self.retry_seconds)
                elif result.skipped_locked:
                    self._stopping.wait(LOCKED_RETRY_SECONDS)
                else:
                    self._wait_for_commit(self.sweep_seconds)
        finally:
            self._close_listener()
            connection.close()
            os.close(self._wake_read)
            os.close(self._wake_write)
            logger.info("outbox relay stopped")

    def _pass(self) -> RelayResult | None:
        """Relay what is pending (None: the database is away)."""
        try:
            self._listen()  # first: a commit after the relay looks must find us listening
            self._drain()  # what committed so far, this pass sends
            return relay_pending()
        except (Error, connection.Database.Error) as exc:
            logger.warning("outbox relay lost the database: %s", exc.__class__.__name__)
            self._close_listener()
            connection.close()
            return None

    def _wait_for_commit(self, seconds: float) -> None:
        """Return when a commit notified us, ``stop`` was called, or after ``seconds``."""
        select.select([self._wake_read, self._listener], [], [], seconds)

    def _listen(self) -> None:
        if self._listener is None:
            listener = connection.get_new_connection(connection.get_connection_params())
            listener.autocommit = True
            with listener.cursor() as cursor:
                cursor.execute(f"LISTEN {RELAY_CHANNEL}")
            self._listener = listener

    def _drain(self) -> None:
        self._listener.poll()
        self._listener.notifies.clear()

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except connection.Database.Error:
                pass
            self._listener = None
