"""Freeze, unfreeze and close, driven by real ``users.events`` over Kafka through the real consumer and
event task: the account's status follows the customer's, and every change is announced with the next version."""

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaProducer
from support import CustomerHistory, events_of, spend

from accounts.models import CreditAccount
from analysis.models import CreditDecision
from common.events import CloudEvent, new_event
from common.events.payloads import USER_BLOCKED, USER_CLOSED, USER_UNBLOCKED, UserStatusChanged
from common.messaging.consumer import EventConsumer
from common.messaging.dead_letter import send_to_dead_letter
from common.messaging.kafka import client_config, create_consumer
from common.messaging.stats import record_progress
from common.messaging.tasks import process_event, process_events
from ledger.services import post_transaction

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def status_change(event_type: str, user_id: uuid.UUID) -> CloudEvent:
    """A status event as published before events carried a version and the customer's whole state."""
    status = {USER_BLOCKED: "blocked", USER_UNBLOCKED: "active", USER_CLOSED: "closed"}[event_type]
    return new_event(event_type, subject=user_id, data=UserStatusChanged(user_id=user_id, status=status, reason="test"))


@pytest.fixture
def users_events(kafka_topic):
    """``users_events(*events)``: produce the events to a topic of this test's own, keyed by customer as
    user_manager does, and apply them through the real consumer (each batch's task runs in this process)."""
    kafka_consumer = create_consumer(topics=[kafka_topic], group_id=f"test-{uuid.uuid4().hex[:8]}")
    consumer = EventConsumer(
        consumer=kafka_consumer,
        dispatch=lambda batch: process_events.apply(args=[batch]),
        dead_letter=send_to_dead_letter,
        record_progress=record_progress,
    )
    producer = KafkaProducer(**client_config(), acks="all")

    def deliver(*events: CloudEvent) -> None:
        for event in events:
            producer.send(kafka_topic, key=event.subject.encode(), value=event.to_bytes())
        producer.flush()
        handled = 0
        for _ in range(60):
            handled += consumer.poll_once()["handled"]
            if handled >= len(events):
                return
        raise AssertionError(f"only {handled} of {len(events)} events came back from Kafka")

    yield deliver
    producer.close()
    kafka_consumer.close()


def account_of(user_id) -> CreditAccount:
    return CreditAccount.objects.get(user_id=user_id)


def announced(account: CreditAccount) -> list[tuple[str, str, int]]:
    return [(e["type"], e["data"]["status"], e["data"]["version"]) for e in events_of(account)]


def test_blocking_freezes_the_account_and_unblocking_restores_it(users_events):
    customer = CustomerHistory(age=40, income="8000.00")
    users_events(customer.created(), customer.blocked())
    account = account_of(customer.user_id)
    assert account.status == "frozen"
    with pytest.raises(Exception) as declined:
        spend(account, "1.00")
    assert declined.value.code == "ACCOUNT_NOT_ACTIVE"

    users_events(customer.unblocked())
    account = account_of(customer.user_id)
    assert account.status == "active"
    spend(account, "1.00")
    assert announced(account) == [
        ("credit.account.opened", "pending", 1),
        ("credit.analysis.completed", "active", 2),
        ("credit.limit.changed", "active", 2),
        ("credit.account.frozen", "frozen", 3),
        ("credit.account.unfrozen", "active", 4),
        ("credit.transaction.posted", "active", 5),
    ]


def test_a_frozen_account_takes_payments(users_events):
    customer = CustomerHistory()
    users_events(customer.created())
    spend(account_of(customer.user_id), "200.00")
    users_events(customer.blocked())
    payment = post_transaction(account_id=account_of(customer.user_id).id, type="payment", amount=Decimal("200.00"))
    assert payment.balance_after == 0 and account_of(customer.user_id).status == "frozen"


def test_a_denied_account_unfrozen_is_denied_again(users_events):
    customer = CustomerHistory(income="0.00")
    users_events(customer.created(), customer.blocked(), customer.unblocked())
    assert account_of(customer.user_id).status == "denied"


def test_closing_with_nothing_owed_closes_the_account(users_events):
    customer = CustomerHistory()
    users_events(customer.created(), customer.closed())
    account = account_of(customer.user_id)
    assert account.status == "closed"
    assert announced(account)[-1] == ("credit.account.closed", "closed", 3)


def test_closing_with_a_balance_owed_closes_on_the_payment_that_clears_it(users_events):
    customer = CustomerHistory()
    users_events(customer.created())
    spend(account_of(customer.user_id), "300.00")
    users_events(customer.closed())
    account = account_of(customer.user_id)
    assert account.status == "closing"
    users_events(status_change(USER_BLOCKED, customer.user_id), status_change(USER_UNBLOCKED, customer.user_id))
    assert account_of(customer.user_id).status == "closing", "neither blocking nor unblocking reopens an account being closed"

    post_transaction(account_id=account.id, type="payment", amount=Decimal("100.00"))
    assert account_of(customer.user_id).status == "closing"
    post_transaction(account_id=account.id, type="payment", amount=Decimal("200.00"))
    account = account_of(customer.user_id)
    assert (account.status, account.balance) == ("closed", Decimal("0.00"))
    assert announced(account)[-5:] == [
        ("credit.transaction.posted", "active", 3),
        ("credit.account.frozen", "closing", 4),
        ("credit.transaction.posted", "closing", 5),
        ("credit.transaction.posted", "closed", 6),
        ("credit.account.closed", "closed", 6),
    ]


def test_a_redelivered_status_event_changes_nothing_more(users_events):
    customer = CustomerHistory()
    created, blocked = customer.created(), customer.blocked()
    users_events(created, blocked)
    assert process_event.apply(args=[blocked.to_json()]).get() == "duplicate"
    users_events(status_change(USER_BLOCKED, customer.user_id))  # blocked again under a new event id
    account = account_of(customer.user_id)
    assert account.status == "frozen" and account.version == 3


# What can happen to a customer: a status change, or a new monthly income.
STEPS = st.one_of(st.sampled_from(["block", "unblock", "close"]), st.sampled_from(["0.00", "1500.00", "3000.00", "20000.00"]))


class TestAnyOrder:
    """Each customer event carries the customer's version and state: the newest applies, older ones are stale."""

    def test_a_block_that_overtakes_user_created_opens_the_account_frozen(self, users_events):
        customer = CustomerHistory()
        created, blocked = customer.created(), customer.blocked()
        users_events(blocked)
        account = account_of(customer.user_id)
        assert account.status == "frozen" and account.current_decision.trigger == "onboarding"
        assert process_event.apply(args=[created.to_json()]).get() == "stale"
        assert account_of(customer.user_id).status == "frozen"

    def test_an_older_income_arriving_late_is_stale_and_the_newest_limit_stays(self, users_events):
        customer = CustomerHistory(income="8000.00")
        created, lower, higher = customer.created(), customer.income_changed("1500.00"), customer.income_changed("9000.00")
        users_events(created, higher)
        limit, decisions = account_of(customer.user_id).credit_limit, CreditDecision.objects.count()
        assert process_event.apply(args=[lower.to_json()]).get() == "stale"
        account = account_of(customer.user_id)
        assert (account.monthly_income, account.credit_limit) == (Decimal("9000.00"), limit)
        assert CreditDecision.objects.count() == decisions, "the stale income was never analysed"

    def test_an_unblock_that_overtakes_its_block_leaves_the_account_active(self):
        customer = CustomerHistory()
        created, blocked, unblocked = customer.created(), customer.blocked(), customer.unblocked()
        outcome = process_events.apply(args=[[e.to_json() for e in (created, unblocked, blocked)]]).get()
        assert outcome == {"superseded": 1, "handled": 1, "stale": 1}, "the unblock carries the customer's whole state"
        assert account_of(customer.user_id).status == "active"

    def test_a_status_event_without_the_customers_state_waits_for_the_account(self, task_queue):
        """Published before events carried the whole state: it cannot open the account, so it is parked."""
        customer = CustomerHistory()
        early_block = status_change(USER_BLOCKED, customer.user_id)
        assert process_events.apply(args=[[early_block.to_json()]]).get() == {"parked": 1}
        assert not CreditAccount.objects.filter(user_id=customer.user_id).exists()
        [parked] = task_queue.messages("common.messaging.process_event")

        assert process_event.apply(args=[customer.created().to_json()]).get() == "handled"
        assert process_event.apply(args=parked["args"]).get() == "handled"
        assert account_of(customer.user_id).status == "frozen"

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(steps=st.lists(STEPS, min_size=1, max_size=8), data=st.data())
    def test_any_interleaving_with_duplicates_ends_as_applying_the_events_in_order(self, steps, data):
        in_order, shuffled = CustomerHistory(), CustomerHistory()
        expected_events, events = history(in_order, steps), history(shuffled, steps)
        delivery = data.draw(st.permutations(events)) + data.draw(st.lists(st.sampled_from(events), max_size=3))
        for event in expected_events:
            process_event.apply(args=[event.to_json()])
        for start in range(0, len(delivery), 3):  # batches, as the consumer hands them off
            process_events.apply(args=[[e.to_json() for e in delivery[start : start + 3]]])
        expected, actual = account_of(in_order.user_id), account_of(shuffled.user_id)
        assert (actual.status, actual.credit_limit, actual.monthly_income) == (
            expected.status, expected.credit_limit, expected.monthly_income,
        )  # fmt: skip


def history(customer: CustomerHistory, steps: list[str]) -> list[CloudEvent]:
    """The events user_manager would publish for these steps (a block of a blocked customer is refused there)."""
    events = [customer.created()]
    for step in steps:
        if customer.status == "closed":
            break
        if step == "block" and customer.status == "active":
            events.append(customer.blocked())
        elif step == "unblock" and customer.status == "blocked":
            events.append(customer.unblocked())
        elif step == "close":
            events.append(customer.closed())
        elif step[0].isdigit():
            events.append(customer.income_changed(step))
    return events
