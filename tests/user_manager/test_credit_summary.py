"""credit.* events fill the customer's credit summary; late, repeated or reordered ones leave the newest state."""

import itertools
import uuid
from datetime import timedelta

import pytest
from customer_data import T0, credit_event, decision, deliver

from common.events import InvalidEvent
from common.events.payloads import (
    CREDIT_ACCOUNT_CLOSED,
    CREDIT_ACCOUNT_FROZEN,
    CREDIT_ACCOUNT_OPENED,
    CREDIT_ACCOUNT_UNFROZEN,
    CREDIT_ANALYSIS_COMPLETED,
    CREDIT_AUTHORIZATION_APPROVED,
    CREDIT_AUTHORIZATION_CAPTURED,
    CREDIT_AUTHORIZATION_EVENTS,
    CREDIT_LIMIT_CHANGED,
    CREDIT_TRANSACTION_POSTED,
)
from common.inbox.models import ProcessedEvent
from credit_summary.models import CreditSummary

pytestmark = pytest.mark.django_db(transaction=True)

ALL_CREDIT_TYPES = [
    CREDIT_ACCOUNT_OPENED,
    CREDIT_ANALYSIS_COMPLETED,
    CREDIT_LIMIT_CHANGED,
    CREDIT_TRANSACTION_POSTED,
    CREDIT_ACCOUNT_FROZEN,
    CREDIT_ACCOUNT_UNFROZEN,
    CREDIT_ACCOUNT_CLOSED,
    *CREDIT_AUTHORIZATION_EVENTS,
]


def credit_of(client, customer_id) -> dict:
    return client.get(f"/api/v1/users/{customer_id}").json()["credit"]


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class TestFilledByCreditEvents:
    def test_an_opened_account_shows_its_status_and_amounts(self, create_customer, reader):
        customer = create_customer()
        deliver(credit_event(customer["id"], version=1, status="pending", minutes=1))
        assert credit_of(reader, customer["id"]) == {
            "status": "pending",
            "credit_limit": "0.00",
            "balance": "0.00",
            "held": "0.00",
            "available": "0.00",
            "last_decision": None,
            "updated_at": at(1),
        }

    def test_an_analysis_shows_the_decision_with_its_reason_codes_and_time(self, create_customer, reader):
        customer = create_customer()
        deliver(
            credit_event(customer["id"], version=1, minutes=1),
            credit_event(
                customer["id"], event_type=CREDIT_ANALYSIS_COMPLETED, version=2, status="active", credit_limit="3000.00",
                last_decision=decision("approved", ("income_ok", "age_ok"), minutes=2), minutes=2,
            ),
        )  # fmt: skip
        assert credit_of(reader, customer["id"]) == {
            "status": "active",
            "credit_limit": "3000.00",
            "balance": "0.00",
            "held": "0.00",
            "available": "3000.00",
            "last_decision": {"outcome": "approved", "reason_codes": ["income_ok", "age_ok"], "decided_at": at(2)},
            "updated_at": at(2),
        }

    @pytest.mark.parametrize("event_type", ALL_CREDIT_TYPES)
    def test_every_credit_event_type_carries_the_account_state(self, create_customer, reader, event_type):
        customer = create_customer()
        deliver(
            credit_event(customer["id"], event_type=event_type, version=1, status="active", credit_limit="900.00", balance="150.00")
        )
        credit = credit_of(reader, customer["id"])
        assert (credit["status"], credit["credit_limit"], credit["available"]) == ("active", "900.00", "750.00")

    def test_a_card_hold_shows_as_held_until_its_capture_moves_it_to_the_balance(self, create_customer, reader):
        customer = create_customer()
        account = {"status": "active", "credit_limit": "900.00"}
        deliver(credit_event(customer["id"], event_type=CREDIT_AUTHORIZATION_APPROVED, version=1, held="250.00", **account))
        credit = credit_of(reader, customer["id"])
        assert (credit["balance"], credit["held"], credit["available"]) == ("0.00", "250.00", "650.00")
        deliver(credit_event(customer["id"], event_type=CREDIT_AUTHORIZATION_CAPTURED, version=2, balance="200.00", **account))
        credit = credit_of(reader, customer["id"])
        assert (credit["balance"], credit["held"], credit["available"]) == ("200.00", "0.00", "700.00")

    def test_credit_news_does_not_change_the_customer_version(self, create_customer, reader):
        customer = create_customer()
        deliver(credit_event(customer["id"], version=1))
        response = reader.get(f"/api/v1/users/{customer['id']}")
        assert response.json()["version"] == 1 and response["ETag"] == '"1"'


class TestOnlyTheNewestStateIsShown:
    def history(self, user_id):
        """An account's life in order: opened, approved, a purchase, frozen; each event with its latest decision."""
        approved = decision("approved", minutes=2)
        return [
            credit_event(user_id, version=1, status="pending", minutes=1),
            credit_event(
                user_id, event_type=CREDIT_ANALYSIS_COMPLETED, version=2, status="active", credit_limit="2000.00",
                last_decision=approved, minutes=2,
            ),
            credit_event(
                user_id, event_type=CREDIT_TRANSACTION_POSTED, version=3, status="active", credit_limit="2000.00",
                balance="300.00", last_decision=approved, minutes=3,
            ),
            credit_event(
                user_id, event_type=CREDIT_ACCOUNT_FROZEN, version=4, status="frozen", credit_limit="2000.00",
                balance="300.00", last_decision=approved, minutes=4,
            ),
        ]  # fmt: skip

    def expected(self) -> dict:
        return {
            "status": "frozen",
            "credit_limit": "2000.00",
            "balance": "300.00",
            "held": "0.00",
            "available": "1700.00",
            "last_decision": {"outcome": "approved", "reason_codes": ["income_ok"], "decided_at": at(2)},
            "updated_at": at(4),
        }

    def test_in_any_arrival_order_the_summary_ends_the_same(self, create_customer, reader):
        for order in itertools.permutations(range(4)):
            customer = create_customer()
            history = self.history(customer["id"])
            deliver(*(history[i] for i in order))
            assert credit_of(reader, customer["id"]) == self.expected(), f"arrival order {order}"

    def test_redelivered_events_change_nothing(self, create_customer, reader):
        customer = create_customer()
        history = self.history(customer["id"])
        deliver(*history, *history[:3])
        assert credit_of(reader, customer["id"]) == self.expected()

    def test_an_event_published_earlier_under_a_new_event_id_is_stale(self, create_customer, reader):
        customer = create_customer()
        history = self.history(customer["id"])
        deliver(*history, credit_event(customer["id"], version=2, sequence=2, status="active", credit_limit="2000.00", minutes=9))
        assert credit_of(reader, customer["id"]) == self.expected()
        assert CreditSummary.objects.get(customer_id=customer["id"]).account_version == 4
        assert ProcessedEvent.objects.filter(subject=customer["id"], outcome="stale").count() == 1


class TestTheLatestDecisionComesWithEveryEvent:
    def test_a_decision_that_changed_nothing_is_shown_though_the_account_version_is_the_same(self, create_customer, reader):
        """A denied limit request: a new decision, the same account state (version 2), published later."""
        customer = create_customer()
        deliver(
            credit_event(
                customer["id"], event_type=CREDIT_LIMIT_CHANGED, version=2, sequence=2, status="active", credit_limit="1000.00",
                last_decision=decision("approved", minutes=1), minutes=1,
            ),
            credit_event(
                customer["id"], event_type=CREDIT_ANALYSIS_COMPLETED, version=2, sequence=3, status="active",
                credit_limit="1000.00", last_decision=decision("denied", ("limit_above_policy",), minutes=2), minutes=2,
            ),
        )  # fmt: skip
        credit = credit_of(reader, customer["id"])
        assert credit["last_decision"] == {"outcome": "denied", "reason_codes": ["limit_above_policy"], "decided_at": at(2)}
        assert credit["credit_limit"] == "1000.00"

    def test_a_decision_overtaken_by_a_later_event_still_shows_through_it(self, create_customer, reader):
        customer = create_customer()
        reanalysed = decision("approved", ("income_ok",), minutes=5)
        analysis = credit_event(
            customer["id"], event_type=CREDIT_ANALYSIS_COMPLETED, version=3, status="active", credit_limit="1500.00",
            last_decision=reanalysed, minutes=5,
        )  # fmt: skip
        purchase = credit_event(
            customer["id"], event_type=CREDIT_TRANSACTION_POSTED, version=4, status="active", credit_limit="1500.00",
            balance="100.00", last_decision=reanalysed, minutes=6,
        )  # fmt: skip
        deliver(purchase, analysis)
        credit = credit_of(reader, customer["id"])
        assert (credit["available"], credit["last_decision"]["decided_at"]) == ("1400.00", at(5))

    def test_an_analysis_published_before_events_carried_the_latest_decision_shows_its_own(self, create_customer, reader):
        customer = create_customer()
        legacy = credit_event(customer["id"], event_type=CREDIT_ANALYSIS_COMPLETED, version=2, status="active", minutes=3)
        data = {**legacy.data, "last_decision": None}
        deliver(legacy.model_copy(update={"data": data, "sequence": None}))
        assert credit_of(reader, customer["id"])["last_decision"]["decided_at"] == at(3)


class TestAnEventWithoutADecision:
    """Published before events carried the latest decision: it says nothing about the decision."""

    def test_keeps_the_decision_shown(self, create_customer, reader):
        customer = create_customer()
        deliver(
            credit_event(
                customer["id"], event_type=CREDIT_ANALYSIS_COMPLETED, version=1, status="active", credit_limit="1000.00",
                last_decision=decision("approved", ("income_ok", "age_ok"), minutes=1), minutes=1,
            ),
            credit_event(
                customer["id"], event_type=CREDIT_TRANSACTION_POSTED, version=2, status="active", credit_limit="1000.00",
                balance="40.00", minutes=2,
            ),
        )  # fmt: skip
        credit = credit_of(reader, customer["id"])
        assert (credit["balance"], credit["updated_at"]) == ("40.00", at(2))
        assert credit["last_decision"] == {"outcome": "approved", "reason_codes": ["income_ok", "age_ok"], "decided_at": at(1)}

    def test_as_the_first_shows_no_decision(self, create_customer):
        customer = create_customer()
        deliver(credit_event(customer["id"], version=1))
        summary = CreditSummary.objects.get(customer_id=customer["id"])
        decision_shown = [summary.last_decision_id, summary.last_decision_outcome, summary.last_decision_at]
        assert decision_shown == [None, "", None] and summary.last_decision_reason_codes == []


class TestClosedCustomers:
    def test_still_show_their_account_as_credit_manager_closes_it(self, create_customer, writer, reader):
        customer = create_customer()
        deliver(credit_event(customer["id"], version=1, status="active", credit_limit="500.00", minutes=1))
        closed = writer.post(f"/api/v1/users/{customer['id']}/close", {"reason": "moved abroad"}, content_type="application/json")
        assert closed.json()["status"] == "closed"
        deliver(credit_event(customer["id"], event_type=CREDIT_ACCOUNT_CLOSED, version=2, status="closed", minutes=2))
        assert credit_of(reader, customer["id"])["status"] == "closed"


class TestEventsForUnknownCustomers:
    def test_are_invalid_and_leave_no_trace(self):
        event = credit_event(str(uuid.uuid4()), version=1)
        with pytest.raises(InvalidEvent, match="unknown customer"):
            deliver(event)
        assert not CreditSummary.objects.exists() and not ProcessedEvent.objects.exists()
