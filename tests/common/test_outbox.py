"""The transactional outbox: an event leaves only with its change, always, in order, exactly as written."""

import contextlib
import json
import select
import socket
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from common.events import new_event
from common.events.payloads import USER_BLOCKED, UserStatusChanged
from common.messaging.kafka import discard_producer
from common.outbox import services
from common.outbox.models import OutboxEvent
from common.outbox.relay import OutboxRelay
from common.outbox.services import publish, purge_sent, relay_pending, replay_since
from common.testing import read_topic, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def blocked_event():
    user_id = uuid.uuid4()
    return new_event(USER_BLOCKED, subject=user_id, data=UserStatusChanged(user_id=user_id, status="blocked"))


def publish_one(topic: str) -> OutboxEvent:
    with transaction.atomic():
        event = blocked_event()
        return publish(event, topic=topic, key=event.subject)


@pytest.fixture(autouse=True)
def _fresh_producer():
    discard_producer()
    yield
    discard_producer()


class TestPublish:
    def test_refuses_to_publish_outside_a_transaction(self, kafka_topic):
        with pytest.raises(RuntimeError, match="inside the transaction"):
            publish(blocked_event(), topic=kafka_topic, key="k")

    def test_a_rolled_back_change_publishes_nothing(self, kafka_topic):
        with pytest.raises(RuntimeError, match="the change failed"):
            with transaction.atomic():
                publish(blocked_event(), topic=kafka_topic, key="k")
                raise RuntimeError("the change failed")
        assert not OutboxEvent.objects.exists()

    def test_a_commit_wakes_the_relay_once_and_a_rollback_never(self, kafka_topic):
        """Postgres delivers the trigger's notification at commit: one per transaction, however many rows."""
        with relay_listener() as listener:
            with pytest.raises(RuntimeError):
                with transaction.atomic():
                    publish(blocked_event(), topic=kafka_topic, key="k")
                    raise RuntimeError("the change failed")
            assert notifications(listener) == 0
            with transaction.atomic():
                for _ in range(3):
                    publish(blocked_event(), topic=kafka_topic, key="k")
                assert notifications(listener) == 0, "the relay was woken before the rows were committed"
            assert notifications(listener) == 1


@contextlib.contextmanager
def relay_listener():
    """A connection of its own listening on the relay's channel, as the relay process does."""
    listener = connection.get_new_connection(connection.get_connection_params())
    listener.autocommit = True
    with listener.cursor() as cursor:
        cursor.execute(f"LISTEN {services.RELAY_CHANNEL}")
    try:
        yield listener
    finally:
        listener.close()


def notifications(listener, *, wait: float = 0.3) -> int:
    select.select([listener], [], [], wait)
    listener.poll()
    count = len(listener.notifies)
    listener.notifies.clear()
    return count


class TestRelay:
    def test_sends_pending_events_and_marks_them_sent_after_the_broker_acknowledged(self, kafka_topic):
        rows = [publish_one(kafka_topic) for _ in range(3)]
        result = relay_pending()
        assert result.sent == 3 and result.failed == 0
        assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()
        records = read_topic(kafka_topic, expect=3)
        sent = {json.loads(r.value)["id"]: r.key for r in records}
        assert sent == {str(r.event_id): r.key.encode() for r in rows}

    def test_a_lower_id_committed_after_a_higher_one_is_not_skipped(self, kafka_topic):
        """Rows become visible at commit: a 'last id seen' cursor would lose the slow transaction's event."""
        inserted, release = threading.Event(), threading.Event()
        slow_row: dict = {}

        def slow_transaction():
            try:
                with transaction.atomic():
                    slow_row["row"] = publish(blocked_event(), topic=kafka_topic, key="slow")
                    inserted.set()
                    release.wait(10)
            finally:
                connection.close()

        worker = threading.Thread(target=slow_transaction)
        worker.start()
        assert inserted.wait(10)
        fast = publish_one(kafka_topic)
        assert fast.id > slow_row["row"].id
        assert relay_pending().sent == 1
        release.set()
        worker.join()
        assert relay_pending().sent == 1
        assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()
        assert len(read_topic(kafka_topic, expect=2)) == 2

    def test_only_one_relay_drains_at_a_time(self, kafka_topic):
        publish_one(kafka_topic)
        holding, release = threading.Event(), threading.Event()

        def hold_relay_lock():
            try:
                with services._relay_lock() as held:
                    assert held
                    holding.set()
                    release.wait(10)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_relay_lock)
        holder.start()
        assert holding.wait(10)
        assert relay_pending().skipped_locked
        release.set()
        holder.join()
        assert relay_pending().sent == 1

    def test_broker_down_leaves_events_pending_with_the_error_and_they_go_when_it_is_back(self, kafka_topic):
        row = publish_one(kafka_topic)
        with override_settings(KAFKA_BOOTSTRAP_SERVERS=["127.0.0.1:9"], KAFKA_REQUEST_TIMEOUT_MS=1000):
            result = relay_pending()
            discard_producer()
        assert result.sent == 0 and result.failed == 1
        row.refresh_from_db()
        assert row.sent_at is None and row.attempts == 1 and row.last_error
        assert relay_pending().sent == 1
        assert len(read_topic(kafka_topic, expect=1)) == 1

    def test_a_broker_that_does_not_answer_holds_no_lock_that_writers_wait_for(self, kafka_topic):
        """The relay waits for the broker outside any transaction: rows stay free to insert, update and read."""
        row = publish_one(kafka_topic)
        with (
            silent_broker() as broker,
            override_settings(KAFKA_BOOTSTRAP_SERVERS=[broker.address], KAFKA_REQUEST_TIMEOUT_MS=3000),
        ):
            discard_producer()
            results = []
            relay = threading.Thread(target=lambda: (results.append(relay_pending()), connection.close()))
            relay.start()
            assert broker.connected.wait(10), "the relay never reached the broker"
            started = time.monotonic()
            with transaction.atomic():
                OutboxEvent.objects.select_for_update(nowait=True).get(id=row.id)  # not locked by the relay
                OutboxEvent.objects.filter(id=row.id).update(attempts=F("attempts") + 10)
            publish_one(kafka_topic)
            assert time.monotonic() - started < 1.0
            assert relay.is_alive(), "the relay should still be waiting for the broker"
            relay.join(30)
            discard_producer()
        assert results[0].sent == 0 and results[0].failed >= 1
        assert relay_pending().sent == 2


class TestRelayProcess:
    """``manage.py relay_outbox``: woken by each commit; its sweep (30 s here) never has to step in."""

    @pytest.fixture
    def relay(self):
        process = OutboxRelay(sweep_seconds=30, retry_seconds=0.2)
        thread = threading.Thread(target=lambda: (process.run(), connection.close()))
        thread.start()
        yield process
        process.stop()
        thread.join(10)
        assert not thread.is_alive(), "the relay did not stop when asked"

    def test_sends_each_change_as_soon_as_it_commits(self, kafka_topic, relay):
        rows = [publish_one(kafka_topic) for _ in range(3)]
        wait_until(lambda: all_sent(rows), timeout=5, what="the committed events sent")
        assert len(read_topic(kafka_topic, expect=3)) == 3

    def test_a_commit_while_the_relay_sends_is_sent_without_waiting_for_the_sweep(self, kafka_topic, relay, monkeypatch):
        send, late = services._send, {}

        def send_while_another_commit_lands(rows):
            if not late:
                committer = threading.Thread(
                    target=lambda: (late.setdefault("row", publish_one(kafka_topic)), connection.close())
                )
                committer.start()
                committer.join()
            return send(rows)

        monkeypatch.setattr(services, "_send", send_while_another_commit_lands)
        first = publish_one(kafka_topic)
        wait_until(lambda: late and all_sent([first, late["row"]]), timeout=5, what="both events sent")

    def test_the_commits_of_its_linger_after_a_wake_go_in_the_same_pass(self, kafka_topic, monkeypatch):
        """Woken by a commit, it waits ``OUTBOX_RELAY_LINGER_MS`` before it looks: at a steady rate, one pass
        (two statements and a produce request) for the commits of that moment rather than one each."""
        send, batches = services._send, []

        def recorded(rows):
            batches.append(len(rows))
            return send(rows)

        monkeypatch.setattr(services, "_send", recorded)
        lingering = OutboxRelay(sweep_seconds=30, retry_seconds=0.2, linger_seconds=0.5)
        thread = threading.Thread(target=lambda: (lingering.run(), connection.close()))
        thread.start()
        try:
            wait_until(lambda: relay_pending().skipped_locked, timeout=5, what="the relay listening")
            rows = [publish_one(kafka_topic) for _ in range(3)]
            wait_until(lambda: all_sent(rows), timeout=5, what="the committed events sent")
        finally:
            lingering.stop()
            thread.join(10)
        assert batches == [3]

    def test_keeps_the_relay_lock_so_the_sweep_does_nothing_while_it_runs(self, kafka_topic, relay):
        wait_until(lambda: relay_pending().skipped_locked, timeout=5, what="the relay process holding the lock")

    def test_replay_outbox_hands_the_events_to_the_running_relay(self, kafka_topic, relay, capsys):
        from django.core.management import call_command

        row = publish_one(kafka_topic)
        wait_until(lambda: all_sent([row]), timeout=5, what="the event sent")
        call_command("replay_outbox", "--since", "1h")
        assert "replayed 1 event(s)" in capsys.readouterr().out
        ids = [json.loads(r.value)["id"] for r in read_topic(kafka_topic, expect=2)]
        assert ids.count(str(row.event_id)) == 2

    def test_a_standby_takes_over_when_the_relay_stops(self, kafka_topic, relay):
        standby = OutboxRelay(sweep_seconds=30, retry_seconds=0.2)
        thread = threading.Thread(target=lambda: (standby.run(), connection.close()))
        wait_until(lambda: relay_pending().skipped_locked, timeout=5, what="the first relay holding the lock")
        thread.start()
        try:
            relay.stop()
            row = publish_one(kafka_topic)
            wait_until(lambda: all_sent([row]), timeout=5, what="the standby sending once the lock was free")
        finally:
            standby.stop()
            thread.join(10)

    def test_a_lost_database_connection_is_reopened_and_nothing_waits_for_the_sweep(self, kafka_topic, relay):
        publish_one(kafka_topic)
        wait_until(lambda: not OutboxEvent.objects.filter(sent_at__isnull=True).exists(), timeout=5, what="the first event sent")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%%'"
            )
            assert cursor.fetchone()[0] == 1, "the relay was not listening"
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 2, "both of the relay's connections should have been cut"
        time.sleep(0.5)
        row = publish_one(kafka_topic)
        wait_until(lambda: all_sent([row]), timeout=5, what="the event after the relay reconnected")


def all_sent(rows: list[OutboxEvent]) -> bool:
    return not OutboxEvent.objects.filter(id__in=[r.id for r in rows], sent_at__isnull=True).exists()


class SilentBroker:
    """A TCP server that accepts connections and never answers: a broker that hangs."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.connected = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)
            self.connected.set()

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.server.close()


@contextlib.contextmanager
def silent_broker():
    broker = SilentBroker()
    try:
        yield broker
    finally:
        broker.close()


class TestHousekeeping:
    def test_purge_deletes_only_events_sent_before_the_retention_period(self, kafka_topic):
        old, recent, pending = (publish_one(kafka_topic) for _ in range(3))
        OutboxEvent.objects.filter(id=old.id).update(
            sent_at=timezone.now() - timedelta(hours=settings.OUTBOX_RETENTION_HOURS + 1)
        )
        OutboxEvent.objects.filter(id=recent.id).update(sent_at=timezone.now())
        assert purge_sent() == 1
        assert set(OutboxEvent.objects.values_list("id", flat=True)) == {recent.id, pending.id}

    def test_replay_sends_again_what_was_sent_since_a_time(self, kafka_topic):
        before = publish_one(kafka_topic)
        OutboxEvent.objects.filter(id=before.id).update(created_at=timezone.now() - timedelta(days=2))
        after = publish_one(kafka_topic)
        relay_pending()
        assert replay_since(timezone.now() - timedelta(days=1)) == 1
        assert relay_pending().sent == 1
        ids = [json.loads(r.value)["id"] for r in read_topic(kafka_topic, expect=3)]
        assert ids.count(str(after.event_id)) == 2 and ids.count(str(before.event_id)) == 1


def test_money_in_the_outbox_is_exact(kafka_topic):
    """Decimals are stored as strings in the envelope, never floats."""
    from common.events.payloads import USER_CREATED, UserCreated

    with transaction.atomic():
        event = new_event(
            USER_CREATED,
            subject="s",
            data=UserCreated(user_id=uuid.uuid4(), birth_date="1990-01-01", monthly_income=Decimal("0.10"), status="active"),
        )
        row = publish(event, topic=kafka_topic, key="s")
    row.refresh_from_db()
    assert row.envelope["data"]["monthly_income"] == "0.10"


def test_replay_outbox_command_resends_recent_events(kafka_topic, capsys):
    """After a broker lost its data (e.g. the memory-only local broker restarted)."""
    from django.core.management import call_command

    row = publish_one(kafka_topic)
    relay_pending()
    call_command("replay_outbox", "--since", "1h")
    assert "replayed 1 event(s)" in capsys.readouterr().out
    ids = [json.loads(r.value)["id"] for r in read_topic(kafka_topic, expect=2)]
    assert ids.count(str(row.event_id)) == 2
