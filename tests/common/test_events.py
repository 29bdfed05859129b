"""The event envelope: what a valid event is, and how an invalid one is refused."""

import json
import uuid
from decimal import Decimal

import pytest

from common.events import CloudEvent, InvalidEvent, new_event, parse_event, payload_of
from common.events.payloads import USER_CREATED, UserCreated, UserStatusChanged


def user_created() -> CloudEvent:
    return new_event(
        USER_CREATED,
        subject="u-1",
        data=UserCreated(user_id=uuid.uuid4(), birth_date="1990-01-01", monthly_income=Decimal("1500.50"), status="active"),
    )


class TestEnvelope:
    def test_round_trips_through_bytes_with_cloudevents_attributes(self):
        event = user_created()
        raw = json.loads(event.to_bytes())
        assert {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"} <= raw.keys()
        assert raw["specversion"] == "1.0" and raw["source"] == "user_manager"
        assert raw["time"].endswith("Z") or raw["time"].endswith("+00:00")
        assert parse_event(event.to_bytes()) == event

    def test_money_travels_as_a_decimal_string(self):
        assert json.loads(user_created().to_bytes())["data"]["monthly_income"] == "1500.50"

    @pytest.mark.parametrize(
        "raw",
        [b"\x00\xffgarbage", b"{}", b"[1,2]", b'{"specversion":"1.0"}', b""],
        ids=["bytes", "empty-object", "array", "missing-attributes", "empty"],
    )
    def test_malformed_messages_are_refused(self, raw):
        with pytest.raises(InvalidEvent):
            parse_event(raw)

    def test_a_time_without_timezone_is_refused(self):
        raw = json.loads(user_created().to_bytes())
        raw["time"] = "2026-01-01T10:00:00"
        with pytest.raises(InvalidEvent, match="time"):
            parse_event(json.dumps(raw))


class TestPayloads:
    def test_payload_is_validated_against_its_type(self):
        event = user_created()
        assert isinstance(payload_of(event), UserCreated)

    def test_data_that_does_not_fit_its_type_is_invalid(self):
        raw = json.loads(user_created().to_bytes())
        raw["data"]["monthly_income"] = "-5"
        with pytest.raises(InvalidEvent):
            payload_of(parse_event(json.dumps(raw)))

    def test_an_event_must_carry_the_payload_of_its_type(self):
        with pytest.raises(TypeError):
            new_event(USER_CREATED, subject="u-1", data=UserStatusChanged(user_id=uuid.uuid4(), status="blocked"))
