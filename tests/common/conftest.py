import uuid
from decimal import Decimal

import pytest
from django.test import override_settings

from common.events import CloudEvent, new_event
from common.events.payloads import USER_CREATED, UserCreated
from common.messaging import registry
from common.messaging.kafka import discard_producer, ensure_topics


@pytest.fixture
def dead_letter_topic():
    """A dead-letter topic of the test's own, in force for the test."""
    topic = f"test.dlq.{uuid.uuid4().hex[:8]}"
    ensure_topics([topic])
    discard_producer()
    with override_settings(KAFKA_DEAD_LETTER_TOPIC=topic):
        yield topic
    discard_producer()


@pytest.fixture
def handled(monkeypatch):
    """``handled("user.created", fn, versioned=...)``: register a handler for one test only."""

    def register(event_type, handler, versioned=None):
        monkeypatch.setitem(registry._handlers, event_type, handler)
        if versioned is not None:
            monkeypatch.setitem(registry._versioning, event_type, versioned)
        return handler

    return register


@pytest.fixture
def make_user_created():
    def make(user_id: uuid.UUID | None = None, version: int | None = None) -> CloudEvent:
        """A user.created event (of a new customer unless ``user_id``), versioned if ``version``."""
        user_id = user_id or uuid.uuid4()
        data = UserCreated(
            user_id=user_id, version=version, birth_date="1990-01-01", monthly_income=Decimal("2500.00"), status="active"
        )
        return new_event(USER_CREATED, subject=user_id, data=data)

    return make
