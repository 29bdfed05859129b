import uuid
from decimal import Decimal

import pytest

from common.events import CloudEvent, new_event
from common.events.payloads import USER_CREATED, UserCreated
from common.messaging import registry


@pytest.fixture
def handled(monkeypatch):
    """``handled("user.created", fn)``: register a handler for one test only."""

    def register(event_type, handler):
        monkeypatch.setitem(registry._handlers, event_type, handler)
        return handler

    return register


@pytest.fixture
def make_user_created():
    def make() -> CloudEvent:
        user_id = uuid.uuid4()
        return new_event(
            USER_CREATED,
            subject=user_id,
            data=UserCreated(user_id=user_id, birth_date="1990-01-01", monthly_income=Decimal("2500.00"), status="active"),
        )

    return make
