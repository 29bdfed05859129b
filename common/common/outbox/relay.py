"""The relay process behind ``manage.py relay_outbox``: sends the outbox as soon as a commit wakes it.

A trigger notifies ``RELAY_CHANNEL`` when a transaction that added outbox rows commits (migration
outbox 0002). This process listens on a connection of its own and, on a notification, relays
everything pending; notifications that arrive while it sends come out as one more pass, so a burst
of commits costs one relay, whatever their rate. Woken, it lingers ``OUTBOX_RELAY_LINGER_MS``
before it looks, so that at a steady rate the commits of that moment go in one pass too. It also
relays every ``OUTBOX_SWEEP_SECONDS`` without being woken, for rows whose notification was missed
(the process was down, the listener reconnected). It keeps the relay lock for as long as it runs,
so a pass is two statements (read the pending rows, mark them sent); the periodic sweep then finds
the lock taken and does nothing. Order and at-least-once come from ``send_pending``: one relay at a
time, id order, a row marked sent only once Kafka acknowledged it.
"""

from __future__ import annotations

import logging
import select
import socket
import threading

from django.conf import settings
from django.db import Error, connection

from common.outbox.services import RELAY_CHANNEL, RelayResult, release_relay_lock, send_pending, try_relay_lock

logger = logging.getLogger(__name__)

# Another relay holds the lock (a sweep for a moment; another relay process for as long as it runs):
# try again this soon. Not at each commit: a standby would then try at every one.
LOCKED_RETRY_SECONDS = 1.0


class OutboxRelay:
    def __init__(
        self, *, sweep_seconds: float | None = None, retry_seconds: float | None = None, linger_seconds: float | None = None
    ) -> None:
        self.sweep_seconds = sweep_seconds or settings.OUTBOX_SWEEP_SECONDS
        self.linger_seconds = settings.OUTBOX_RELAY_LINGER_MS / 1000 if linger_seconds is None else linger_seconds
        # After a failure (broker or database away): wait this long, whatever wakes us meanwhile.
        self.retry_seconds = retry_seconds or self.sweep_seconds
        self._listener = None
        self._holding_lock = False
        self._stopping = threading.Event()
        self._stop_receiver, self._stop_sender = socket.socketpair()

    def stop(self) -> None:
        """Finish the current pass and return from ``run`` (safe from a signal handler)."""
        self._stopping.set()
        try:
            self._stop_sender.send(b"x")
        except OSError:  # stopped already
            pass

    def run(self) -> None:
        logger.info("outbox relay started")
        try:
            while not self._stopping.is_set():
                result = self._pass()
                if result is None or result.failed:
                    self._stopping.wait(self.retry_seconds)
                elif result.skipped_locked:
                    self._stopping.wait(LOCKED_RETRY_SECONDS)
                elif self._wait_for_commit(self.sweep_seconds):
                    self._stopping.wait(self.linger_seconds)  # the commits of the next moment go in the same pass
        finally:
            self._close_listener()
            if self._holding_lock:
                release_relay_lock()
            connection.close()
            self._stop_receiver.close()
            self._stop_sender.close()
            logger.info("outbox relay stopped")

    def _pass(self) -> RelayResult | None:
        """Relay what is pending (None: the database is away)."""
        try:
            self._listen()  # first: a commit after the relay looks must find us listening
            self._drain()  # what committed so far, this pass sends
            if not self._holding_lock:
                self._holding_lock = try_relay_lock()
                if not self._holding_lock:
                    return RelayResult(sent=0, failed=0, skipped_locked=True)
            return send_pending()
        except (Error, connection.Database.Error) as exc:
            logger.warning("outbox relay lost the database: %s", exc.__class__.__name__)
            self._close_listener()
            self._holding_lock = False  # the server let the lock go with the connection
            connection.close()
            return None

    def _wait_for_commit(self, seconds: float) -> bool:
        """Return when a commit notified us (True), ``stop`` was called, or after ``seconds``."""
        ready, _, _ = select.select([self._stop_receiver, self._listener], [], [], seconds)
        return self._listener in ready

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
