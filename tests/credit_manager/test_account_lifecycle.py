"""Freeze, unfreeze and close, driven by real ``users.events`` over Kafka through the real consumer and
event task: the account's status follows the customer's, and every change is announced with the next version."""

import uuid
from decimal import Decimal

import pytest
from kafka import KafkaProducer
from support import events_of, spend, user_created

from accounts.models import CreditAccount
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
    status = {USER_BLOCKED: "blocked", USER_UNBLOCKED: "active", USER_CLOSED: "closed"}[event_type]
    return new_event(event_type, subject=user_id, data=UserStatusChanged(user_id=user_id, status=status, reason="test"))


@pytest.fixture
def users_events(kafka_topic):
    """``users_events(*events)``: produce the events to a topic of this test's own, keyed by customer as
    user_manager does, and apply them through the real consumer (each batch's task runs in this process)."""
    kafka_consumer = create_consumer(topics=[kafka_topic], group_id=f"test-{uuid.uuid4().hex[:8]}")
    consumer = EventConsumer(
        consumer=kafka_consumer,
        dispatch=lambda batch: process_events.apply(args=[[event.to_json() for event in batch]]),
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
    created = user_created(age=40, income="8000.00")
    user_id = uuid.UUID(created.data["user_id"])
    users_events(created, status_change(USER_BLOCKED, user_id))
    account = account_of(user_id)
    assert account.status == "frozen"
    with pytest.raises(Exception) as declined:
        spend(account, "1.00")
    assert declined.value.code == "ACCOUNT_NOT_ACTIVE"

    users_events(status_change(USER_UNBLOCKED, user_id))
    account = account_of(user_id)
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
    created = user_created()
    user_id = uuid.UUID(created.data["user_id"])
    users_events(created)
    spend(account_of(user_id), "200.00")
    users_events(status_change(USER_BLOCKED, user_id))
    payment = post_transaction(account_id=account_of(user_id).id, type="payment", amount=Decimal("200.00"))
    assert payment.balance_after == 0 and account_of(user_id).status == "frozen"


def test_a_denied_account_unfrozen_is_denied_again(users_events):
    created = user_created(income="0.00")
    user_id = uuid.UUID(created.data["user_id"])
    users_events(created, status_change(USER_BLOCKED, user_id), status_change(USER_UNBLOCKED, user_id))
    assert account_of(user_id).status == "denied"


def test_closing_with_nothing_owed_closes_the_account(users_events):
    created = user_created()
    user_id = uuid.UUID(created.data["user_id"])
    users_events(created, status_change(USER_CLOSED, user_id))
    account = account_of(user_id)
    assert account.status == "closed"
    assert announced(account)[-1] == ("credit.account.closed", "closed", 3)


def test_closing_with_a_balance_owed_closes_on_the_payment_that_clears_it(users_events):
    created = user_created()
    user_id = uuid.UUID(created.data["user_id"])
    users_events(created)
    spend(account_of(user_id), "300.00")
    users_events(
        status_change(USER_CLOSED, user_id), status_change(USER_BLOCKED, user_id), status_change(USER_UNBLOCKED, user_id)
    )
    account = account_of(user_id)
    assert account.status == "closing"  # neither blocking nor unblocking reopens an account being closed

    post_transaction(account_id=account.id, type="payment", amount=Decimal("100.00"))
    assert account_of(user_id).status == "closing"
    post_transaction(account_id=account.id, type="payment", amount=Decimal("200.00"))
    account = account_of(user_id)
    assert (account.status, account.balance) == ("closed", Decimal("0.00"))
    assert announced(account)[-5:] == [
        ("credit.transaction.posted", "active", 3),
        ("credit.account.frozen", "closing", 4),
        ("credit.transaction.posted", "closing", 5),
        ("credit.transaction.posted", "closed", 6),
        ("credit.account.closed", "closed", 6),
    ]


def test_a_redelivered_status_event_changes_nothing_more(users_events):
    created = user_created()
    user_id = uuid.UUID(created.data["user_id"])
    blocked = status_change(USER_BLOCKED, user_id)
    users_events(created, blocked)
    assert process_event.apply(args=[blocked.to_json()]).get() == "duplicate"
    users_events(status_change(USER_BLOCKED, user_id))  # blocked again under a new event id
    account = account_of(user_id)
    assert account.status == "frozen" and account.version == 3
