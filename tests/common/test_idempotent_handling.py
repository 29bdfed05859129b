"""At-least-once delivery, exactly-once effect: the inbox and the process_event task."""

import json
import threading
import uuid

import pytest
from django.db import connection
from django.test import override_settings

from common.events import payload_of
from common.inbox.models import ProcessedEvent
from common.inbox.services import handle_once
from common.messaging.kafka import discard_producer, ensure_topics
from common.messaging.tasks import process_event, process_events
from common.testing import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class TestHandleOnce:
    def test_a_redelivered_event_has_no_second_effect(self, make_user_created):
        event, effects = make_user_created(), []
        assert handle_once(event, effects.append) is True
        assert handle_once(event, effects.append) is False
        assert effects == [event]

    def test_a_failed_handler_leaves_no_trace_so_the_retry_runs(self, make_user_created):
        event = make_user_created()

        def failing(_):
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            handle_once(event, failing)
        assert not ProcessedEvent.objects.filter(event_id=event.id).exists()
        assert handle_once(event, lambda _: None) is True

    def test_two_concurrent_deliveries_apply_once(self, make_user_created):
        event, effects, barrier = make_user_created(), [], threading.Barrier(2)

        def slow_handler(e):
            effects.append(e)

        def deliver():
            try:
                barrier.wait()
                handle_once(event, slow_handler)
            finally:
                connection.close()

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(effects) == 1


class TestProcessEventTask:
    def test_applies_the_registered_handler_once(self, handled, make_user_created):
        effects = []
        handled("user.created", effects.append)
        event = make_user_created()
        assert process_event.apply(args=[event.to_json()]).get() == "handled"
        assert process_event.apply(args=[event.to_json()]).get() == "duplicate"
        assert len(effects) == 1

    def test_a_failing_event_is_retried_then_dead_lettered_with_its_reason(self, handled, make_user_created, settings):
        dlq = f"test.dlq.{uuid.uuid4().hex[:8]}"
        ensure_topics([dlq])
        discard_producer()

        attempts = []

        def broken(_):
            attempts.append(1)
            raise ValueError("policy missing")

        handled("user.created", broken)
        event = make_user_created()
        with override_settings(KAFKA_DEAD_LETTER_TOPIC=dlq):
            # apply() runs the retries eagerly, one after the other, ignoring the backoff.
            assert process_event.apply(args=[event.to_json()]).get() == "dead_lettered"
            discard_producer()
        assert len(attempts) == settings.EVENT_MAX_ATTEMPTS
        [record] = read_topic(dlq, expect=1)
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

    def test_a_failing_event_goes_on_alone_and_does_not_hold_back_the_others(self, handled, make_user_created, monkeypatch):
        bad, good = make_user_created(), make_user_created()
        effects, queued = [], []

        def handler(event):
            if event.id == bad.id:
                raise ValueError("policy missing")
            effects.append(event.id)

        handled("user.created", handler)
        monkeypatch.setattr(process_event, "apply_async", lambda **options: queued.append(options))
        outcome = process_events.apply(args=[[bad.to_json(), good.to_json()]]).get()
        assert outcome == {"retrying": 1, "handled": 1}
        assert effects == [good.id]
        assert not ProcessedEvent.objects.filter(event_id=bad.id).exists()
        [retry] = queued
        assert retry["args"] == [bad.to_json()] and retry["retries"] == 1, "the batch counts as its first attempt"

    def test_an_event_whose_data_does_not_fit_its_type_is_dead_lettered_at_once(self, handled, make_user_created, monkeypatch):
        """The consumer checks only the envelope; the payload is checked where it is applied, never retried."""
        dlq = f"test.dlq.{uuid.uuid4().hex[:8]}"
        ensure_topics([dlq])
        discard_producer()
        handled("user.created", payload_of)
        bad = json.loads(make_user_created().to_bytes())
        bad["data"]["monthly_income"] = "lots"
        good, queued = make_user_created(), []
        monkeypatch.setattr(process_event, "apply_async", lambda **options: queued.append(options))
        with override_settings(KAFKA_DEAD_LETTER_TOPIC=dlq):
            outcome = process_events.apply(args=[[json.dumps(bad), good.model_dump_json()]]).get()
            discard_producer()
        assert outcome == {"dead_lettered": 1, "handled": 1} and queued == []
        [record] = read_topic(dlq, expect=1)
        assert b"monthly_income" in dict(record.headers)["dlq_reason"]

    def test_when_the_database_is_away_the_batch_is_retried_from_that_event(self, handled, make_user_created, monkeypatch):
        from django.db import OperationalError

        events = [make_user_created() for _ in range(3)]
        effects, outages = [], [1]

        def handler(event):
            if event.id == events[1].id and outages:
                outages.pop()
                raise OperationalError("server closed the connection unexpectedly")
            effects.append(event.id)

        handled("user.created", handler)
        # apply() runs the retry eagerly, with the arguments the retry was given.
        process_events.apply(args=[[e.to_json() for e in events]])
        assert effects == [e.id for e in events]
        assert ProcessedEvent.objects.filter(event_id__in=[e.id for e in events]).count() == 3
