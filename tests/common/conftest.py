import uuid
from decimal import Decimal

import pytest

from common.events import CloudEvent, new_event
from common.events.payloads import USER_CREATED, UserCreated
from common.messaging import registry


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
