"""A batch of events reaches the queue workers as the texts the consumer received: each envelope comes
back character for character, whatever it holds, through the real task queue, and a body that does not
add up is refused instead of splitting events wrongly."""

import json

import pytest
from django.conf import settings
from kombu.serialization import dumps, loads, prepare_accept_content

from common.messaging import event_batch
from common.messaging.tasks import hand_off, process_events


def round_trip(envelopes: list, kwargs: dict | None = None, embed: dict | None = None, *, as_bytes: bool = False) -> tuple:
    """Write the body as a sender does and read it as a worker does (from the broker's bytes if ``as_bytes``)."""
    content_type, encoding, body = dumps(([envelopes], kwargs or {}, embed or {}), serializer=event_batch.SERIALIZER)
    if as_bytes:
        body = body.encode()
    return loads(body, content_type, encoding, accept=prepare_accept_content(settings.CELERY_ACCEPT_CONTENT))


class TestBody:
    def test_envelopes_come_back_as_the_texts_they_were(self):
        texts = ['{"id":"1","data":{"name":"Zoë \\"Z\\" Ölund"}}', '{ "id" : "2",\n "data": {} }', "not json at all", ""]

        assert round_trip(texts) == ([texts], {}, {})

    def test_a_worker_reads_it_from_the_brokers_bytes(self):
        texts = ['{"name":"Zoë"}', "{}"]

        assert round_trip(texts, as_bytes=True) == ([texts], {}, {})

    def test_decoded_envelopes_and_events_travel_as_their_json_text(self, make_user_created):
        event = make_user_created()

        [[as_event, as_object]], _, _ = round_trip([event, {"id": "3", "amount": "10.00"}])

        assert as_event == event.model_dump_json()
        assert json.loads(as_object) == {"id": "3", "amount": "10.00"}

    def test_celery_options_travel_with_the_batch(self):
        embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}

        assert round_trip(["{}"], {"note": "x"}, embed) == ([["{}"]], {"note": "x"}, embed)

    def test_a_body_whose_lengths_do_not_add_up_is_refused(self):
        body = event_batch.encode(([["{}", "{}"]], {}, {}))

        with pytest.raises(ValueError, match="characters"):
            event_batch.decode(body + "{}")

    def test_a_worker_accepts_it(self):
        assert event_batch.CONTENT_TYPE in settings.CELERY_ACCEPT_CONTENT
        assert process_events.serializer == event_batch.SERIALIZER


@pytest.mark.integration
def test_a_handed_off_batch_is_queued_as_the_consumer_received_it(task_queue, make_user_created):
    received = [make_user_created().to_bytes().decode() for _ in range(3)]

    hand_off(received)

    [queued] = task_queue.messages("common.messaging.process_events")
    assert queued["args"] == [received]
