"""At-least-once delivery, exactly-once effect: the inbox and the process_event task."""

import json
import threading
import time
import uuid

import pytest
from django.db import connection, transaction
from django.test import override_settings

from common.events import InvalidEvent, payload_of
from common.inbox.models import AppliedVersion, ProcessedEvent
from common.inbox.services import Delivery, Versioned, handle_batch, handle_once
from common.messaging.kafka import discard_producer
from common.messaging.registry import EventNotReady
from common.messaging.stats import read_progress
from common.messaging.tasks import process_event, process_events
from common.testing import Broker, read_topic, separate_connection, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class TestHandleOnce:
    def test_a_redelivered_event_has_no_second_effect(self, make_user_created):
        event, effects = make_user_created(), []
        assert handle_once(event, effects.append) == "handled"
        assert handle_once(event, effects.append) == "duplicate"
        assert effects == [event]

    def test_a_failed_handler_leaves_no_trace_so_the_retry_runs(self, make_user_created):
        event = make_user_created()

        def failing(_):
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            handle_once(event, failing)
        assert not ProcessedEvent.objects.filter(event_id=event.id).exists()
        assert handle_once(event, lambda _: None) == "handled"

    def test_two_concurrent_deliveries_apply_once(self, make_user_created):
        """The second delivery arrives while the first is still inside its (slow) handler."""
        event, effects = make_user_created(), []
        outcomes = run_concurrently([event, event], handler=slow(effects.append))
        assert sorted(outcomes) == ["duplicate", "handled"] and len(effects) == 1


def terminate_backend(pid: int) -> None:
    """End a database connection from the server side, as a restart or a failover would."""
    with separate_connection() as other, other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def slow(handler, seconds: float = 0.3):
    def run(event):
        handler(event)
        time.sleep(seconds)

    return run


def run_concurrently(events, *, handler, versioned=None) -> list[str]:
    """Deliver each event from its own thread (and database connection), all at once."""
    barrier, outcomes = threading.Barrier(len(events)), []

    def deliver(event):
        try:
            barrier.wait()
            outcomes.append(handle_once(event, handler, versioned))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(event,)) for event in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


CUSTOMER = Versioned("customer")


class TestNewestVersionWins:
    """Events of one aggregate, in any order: only a version newer than the one applied reaches the handler."""

    def test_an_older_version_arriving_late_is_stale_and_never_applied(self, make_user_created):
        user_id, applied = uuid.uuid4(), []
        v1, v2, v3 = (make_user_created(user_id, version=v) for v in (1, 2, 3))
        outcomes = [handle_once(e, lambda e: applied.append(e.data["version"]), CUSTOMER) for e in (v1, v3, v2)]
        assert outcomes == ["handled", "handled", "stale"] and applied == [1, 3]
        assert AppliedVersion.objects.get(aggregate=f"customer:{user_id}").version == 3
        assert ProcessedEvent.objects.get(event_id=v2.id).outcome == "stale"
        assert handle_once(v2, applied.append, CUSTOMER) == "duplicate"

    def test_the_same_version_again_under_another_id_is_stale(self, make_user_created):
        user_id = uuid.uuid4()
        first, again = make_user_created(user_id, version=4), make_user_created(user_id, version=4)
        assert [handle_once(e, lambda _: None, CUSTOMER) for e in (first, again)] == ["handled", "stale"]

    def test_aggregates_are_ordered_each_on_its_own(self, make_user_created):
        newer_elsewhere = make_user_created(version=9)
        older_here = make_user_created(version=1)
        assert [handle_once(e, lambda _: None, CUSTOMER) for e in (newer_elsewhere, older_here)] == ["handled", "handled"]

    def test_an_event_without_a_version_is_applied_as_it_arrives(self, make_user_created):
        """Events published before versions were carried (a rolling deploy) still apply."""
        user_id, applied = uuid.uuid4(), []
        handle_once(make_user_created(user_id, version=5), applied.append, CUSTOMER)
        assert handle_once(make_user_created(user_id), applied.append, CUSTOMER) == "handled"
        assert len(applied) == 2 and AppliedVersion.objects.get(aggregate=f"customer:{user_id}").version == 5

    def test_a_version_that_is_not_a_positive_integer_is_an_invalid_event(self, make_user_created):
        bad = make_user_created(version=1).model_copy(update={"data": {**make_user_created().data, "version": "2"}})
        with pytest.raises(InvalidEvent, match="version"):
            handle_once(bad, lambda _: None, CUSTOMER)
        assert not ProcessedEvent.objects.filter(event_id=bad.id).exists()

    def test_a_failed_handler_leaves_the_applied_version_as_it_was(self, make_user_created):
        user_id = uuid.uuid4()
        handle_once(make_user_created(user_id, version=1), lambda _: None, CUSTOMER)

        def failing(_):
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            handle_once(make_user_created(user_id, version=2), failing, CUSTOMER)
        assert AppliedVersion.objects.get(aggregate=f"customer:{user_id}").version == 1

    def test_concurrent_versions_of_one_aggregate_apply_one_at_a_time_and_the_newest_stays(self, make_user_created):
        user_id, running, overlaps, applied = uuid.uuid4(), [], [], []

        def handler(event):
            overlaps.append(bool(running))
            running.append(1)
            time.sleep(0.2)
            applied.append(event.data["version"])
            running.pop()

        events = [make_user_created(user_id, version=v) for v in (2, 3, 1)]
        outcomes = run_concurrently(events, handler=handler, versioned=CUSTOMER)
        assert not any(overlaps), "two versions of one aggregate were applied at the same time"
        assert applied[-1] == 3 and applied == sorted(applied)
        assert outcomes.count("handled") == len(applied) and outcomes.count("stale") == 3 - len(applied)
        assert AppliedVersion.objects.get(aggregate=f"customer:{user_id}").version == 3


class TestHandleBatch:
    """A batch applies in one transaction; each aggregate's newest event carries its whole state, so only it runs."""

    def test_only_the_newest_event_of_each_aggregate_runs_and_every_event_is_recorded(self, make_user_created):
        one, other, applied = uuid.uuid4(), uuid.uuid4(), []
        events = [make_user_created(one, version=1), make_user_created(other, version=1), make_user_created(one, version=2),
                  make_user_created(one, version=3), make_user_created(one, version=2)]  # fmt: skip
        outcomes = handle_batch([Delivery(e, lambda e: applied.append((e.subject, e.data["version"])), CUSTOMER) for e in events])
        assert outcomes == ["superseded", "handled", "superseded", "handled", "stale"]
        assert applied == [(str(other), 1), (str(one), 3)], "in the batch's order, the newest of each"
        assert AppliedVersion.objects.get(aggregate=f"customer:{one}").version == 3
        recorded = dict(ProcessedEvent.objects.filter(event_id__in=[e.id for e in events]).values_list("event_id", "outcome"))
        assert [recorded[e.id] for e in events] == ["superseded", "handled", "superseded", "handled", "stale"]

    def test_what_was_applied_before_the_batch_still_wins(self, make_user_created):
        user_id, applied = uuid.uuid4(), []
        handle_once(make_user_created(user_id, version=5), lambda _: None, CUSTOMER)
        late = [make_user_created(user_id, version=v) for v in (3, 4)]
        assert handle_batch([Delivery(e, applied.append, CUSTOMER) for e in late]) == ["superseded", "stale"]
        assert applied == [] and AppliedVersion.objects.get(aggregate=f"customer:{user_id}").version == 5

    def test_a_redelivered_event_has_no_second_effect_within_a_batch_or_across_batches(self, make_user_created):
        event, unversioned, effects = make_user_created(version=1), make_user_created(), []
        assert handle_batch([Delivery(e, effects.append, CUSTOMER) for e in (event, event)]) == ["handled", "duplicate"]
        twice = [Delivery(unversioned, effects.append), Delivery(unversioned, effects.append)]
        assert handle_batch(twice) == ["handled", "duplicate"]
        again = [Delivery(event, effects.append, CUSTOMER), Delivery(unversioned, effects.append)]
        assert handle_batch(again) == ["duplicate", "duplicate"]
        assert effects == [event, unversioned]

    def test_a_failure_anywhere_rolls_the_whole_batch_back(self, make_user_created):
        first, second = make_user_created(version=1), make_user_created(version=1)

        def failing(event):
            if event.id == second.id:
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            handle_batch([Delivery(e, failing, CUSTOMER) for e in (first, second)])
        assert not ProcessedEvent.objects.filter(event_id__in=[first.id, second.id]).exists()
        assert not AppliedVersion.objects.filter(aggregate__in=[CUSTOMER.key(first), CUSTOMER.key(second)]).exists()

    def test_concurrent_batches_over_the_same_aggregates_never_deadlock_and_the_newest_stays(self, make_user_created):
        """Two workers take overlapping batches (in opposite orders) at once; each holds its locks while its handlers sleep."""
        ids = [uuid.uuid4() for _ in range(4)]
        forward = [make_user_created(i, version=1) for i in ids] + [make_user_created(ids[0], version=3)]
        backward = [make_user_created(i, version=2) for i in reversed(ids)]
        barrier, outcomes, errors = threading.Barrier(2), [], []

        def deliver(batch):
            try:
                barrier.wait()
                outcomes.extend(handle_batch([Delivery(e, slow(lambda _: None, 0.05), CUSTOMER) for e in batch]))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=deliver, args=(batch,)) for batch in (forward, backward)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert [AppliedVersion.objects.get(aggregate=f"customer:{i}").version for i in ids] == [3, 2, 2, 2]


class TestProcessEventTask:
    def test_applies_the_registered_handler_once(self, handled, make_user_created):
        effects = []
        handled("user.created", effects.append)
        event = make_user_created()
        assert process_event.apply(args=[event.to_json()]).get() == "handled"
        assert process_event.apply(args=[event.to_json()]).get() == "duplicate"
        assert len(effects) == 1

    def test_a_failing_event_is_retried_then_dead_lettered_with_its_reason(
        self, handled, make_user_created, settings, dead_letter_topic
    ):
        attempts = []

        def broken(_):
            attempts.append(1)
            raise ValueError("policy missing")

        handled("user.created", broken)
        event = make_user_created()
        # apply() runs the retries eagerly, one after the other, ignoring the backoff.
        assert process_event.apply(args=[event.to_json()]).get() == "dead_lettered"
        assert len(attempts) == settings.EVENT_MAX_ATTEMPTS
        [record] = read_topic(dead_letter_topic, expect=1)
        assert record.value == event.to_bytes()
        assert b"policy missing" in dict(record.headers)["dlq_reason"]
        assert not ProcessedEvent.objects.filter(event_id=event.id).exists()


class TestProcessEventsTask:
    """The consumer hands off a batch per task; every event in it still succeeds or fails on its own."""

    def test_applies_each_event_once_in_order(self, handled, make_user_created):
        effects = []
        handled("user.created", lambda event: effects.append(event.id))
        events = [make_user_created() for _ in range(3)]
        process_events.apply(args=[[events[0].to_json()]])
        outcome = process_events.apply(args=[[e.to_json() for e in events]]).get()
        assert outcome == {"duplicate": 1, "handled": 2}
        assert effects == [e.id for e in events]

    def test_a_failing_event_goes_on_alone_and_does_not_hold_back_the_others(self, handled, make_user_created, task_queue):
        bad, good = make_user_created(), make_user_created()
        effects = []

        def handler(event):
            if event.id == bad.id:
                raise ValueError("policy missing")
            effects.append(event.id)

        handled("user.created", handler)
        outcome = process_events.apply(args=[[bad.to_json(), good.to_json()]]).get()
        assert outcome == {"retrying": 1, "handled": 1}
        assert effects == [good.id]
        assert not ProcessedEvent.objects.filter(event_id=bad.id).exists()
        [retry] = task_queue.messages("common.messaging.process_event")
        assert retry["args"] == [bad.to_json()] and retry["retries"] == 1, "the batch counts as its first attempt"
        assert retry["eta"], "retried after a backoff"

    def test_an_envelope_that_is_not_an_event_is_dead_lettered_and_the_rest_of_the_batch_applies(
        self, handled, make_user_created, task_queue, dead_letter_topic
    ):
        """The consumer hands on what the relay's header says is an event, unread: the queue worker checks it."""
        effects = []
        handled("user.created", lambda event: effects.append(event.id))
        good, not_an_event = make_user_created(), '{"type": "user.created"}'
        assert process_events.apply(args=[[not_an_event, good.model_dump_json()]]).get() == {"dead_lettered": 1, "handled": 1}
        assert effects == [good.id] and task_queue.messages() == []
        [record] = read_topic(dead_letter_topic, expect=1)
        assert record.value == not_an_event.encode() and b"source" in dict(record.headers)["dlq_reason"]

    def test_an_event_whose_data_does_not_fit_its_type_is_dead_lettered_at_once(
        self, handled, make_user_created, task_queue, dead_letter_topic
    ):
        """The consumer checks only the envelope; the payload is checked where it is applied, never retried."""
        handled("user.created", payload_of)
        bad = json.loads(make_user_created().to_bytes())
        bad["data"]["monthly_income"] = "lots"
        good = make_user_created()
        outcome = process_events.apply(args=[[json.dumps(bad), good.model_dump_json()]]).get()
        assert outcome == {"dead_lettered": 1, "handled": 1} and task_queue.messages() == []
        [record] = read_topic(dead_letter_topic, expect=1)
        assert b"monthly_income" in dict(record.headers)["dlq_reason"]

    def test_when_the_database_connection_is_lost_the_batch_is_retried_from_that_event(self, handled, make_user_created):
        """The server really ends the worker's connection in the middle of the second event."""
        events = [make_user_created() for _ in range(3)]
        effects, outages = [], [1]

        def handler(event):
            if event.id == events[1].id and outages:
                outages.pop()
                terminate_backend(connection.connection.get_backend_pid())
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")  # fails: the server closed the connection
            transaction.on_commit(lambda: effects.append(event.id))  # an effect that rolls back is no effect

        handled("user.created", handler)
        # apply() runs the retry eagerly, with the arguments the retry was given.
        process_events.apply(args=[[e.to_json() for e in events]])
        assert effects == [e.id for e in events]
        assert ProcessedEvent.objects.filter(event_id__in=[e.id for e in events]).count() == 3

    def test_when_the_dead_letter_topic_is_away_the_batch_waits_for_it_and_loses_nothing(
        self, handled, make_user_created, tmp_path, caplog, settings
    ):
        """Kafka (a broker of the test's own) is down when an event must be dead-lettered, and comes back."""
        effects = []

        def handler(event):
            user_id = payload_of(event).user_id
            transaction.on_commit(lambda: effects.append(user_id))  # an effect that rolls back is no effect

        handled("user.created", handler)
        before, after = make_user_created(), make_user_created()
        bad = json.loads(make_user_created().to_bytes())
        bad["data"]["monthly_income"] = "lots"
        broker, outcome = Broker(tmp_path), {}

        def run_batch():
            try:
                # apply() runs each retry at once, with the arguments the retry was given.
                outcome.update(process_events.apply(args=[[before.to_json(), json.dumps(bad), after.to_json()]]).get())
            finally:
                connection.close()

        with override_settings(KAFKA_BOOTSTRAP_SERVERS=[broker.address], KAFKA_REQUEST_TIMEOUT_MS=2000):
            discard_producer()
            worker = threading.Thread(target=run_batch)
            worker.start()
            wait_until(lambda: "dead-letter topic unavailable" in caplog.text, timeout=30, what="a failed dead-letter write")
            assert effects == [payload_of(before).user_id], "what follows the owed event waits for it"
            broker.start()
            worker.join(60)
            discard_producer()
            [record] = read_topic(settings.KAFKA_DEAD_LETTER_TOPIC, expect=1, bootstrap_servers=broker.address)
        broker.kill()
        assert outcome == {"dead_lettered": 1, "handled": 1}, "the retry carried the owed event and what follows it"
        assert effects == [payload_of(before).user_id, payload_of(after).user_id]
        assert json.loads(record.value)["id"] == bad["id"]

    def test_an_event_that_cannot_apply_yet_is_parked_and_never_dead_lettered(self, handled, make_user_created, settings):
        waits = [1] * (settings.EVENT_MAX_ATTEMPTS + 2)
        effects = []

        def handler(event):
            if waits:
                waits.pop()
                raise EventNotReady("the account is not open yet")
            effects.append(event.id)

        handled("user.created", handler)
        event = make_user_created()
        # apply() runs the retries eagerly, past EVENT_MAX_ATTEMPTS: parking has no limit.
        assert process_event.apply(args=[event.to_json()]).get() == "handled"
        assert effects == [event.id] and not waits

    def test_a_batch_hands_an_event_that_cannot_apply_yet_on_alone(self, handled, make_user_created, task_queue):
        early, ready = make_user_created(), make_user_created()

        def handler(event):
            if event.id == early.id:
                raise EventNotReady("the account is not open yet")

        handled("user.created", handler)
        assert process_events.apply(args=[[early.to_json(), ready.to_json()]]).get() == {"parked": 1, "handled": 1}
        assert [m["args"] for m in task_queue.messages("common.messaging.process_event")] == [[early.to_json()]]

    def test_a_batch_applies_only_the_newest_state_of_each_aggregate(self, handled, make_user_created):
        applied = []
        handled("user.created", lambda event: applied.append(event.data["version"]), versioned=Versioned("customer"))
        user_id = uuid.uuid4()
        events = [make_user_created(user_id, version=v) for v in (1, 2, 3)]
        assert process_events.apply(args=[[e.to_json() for e in events]]).get() == {"superseded": 2, "handled": 1}
        assert applied == [3]

    def test_stale_events_are_counted_in_the_consumers_progress(self, handled, make_user_created):
        handled("user.created", lambda event: None, versioned=Versioned("customer"))
        user_id = uuid.uuid4()
        before = read_progress().get("stale", 0)
        newer, older = make_user_created(user_id, version=2), make_user_created(user_id, version=1)
        assert process_events.apply(args=[[newer.to_json(), older.to_json()]]).get() == {"handled": 1, "stale": 1}
        assert read_progress()["stale"] == before + 1
