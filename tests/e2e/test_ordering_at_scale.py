"""One customer's events take effect as if applied in order, with the platform scaled out: users.events
with three partitions, two consume_kafka processes in one group and a queue worker running four
tasks at once, over the real broker. Events are produced as user_manager publishes them (CloudEvents
with the customer's version and state), in shuffled orders, with duplicates."""

import itertools
import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kafka import KafkaProducer

from common.testing import wait_until
from customers import Customer, live, produce

pytestmark = pytest.mark.e2e

STEPS = st.lists(st.sampled_from(["block", "unblock", "close", "0.00", "1500.00", "3000.00", "12000.00", "20000.00"]), max_size=8)


@pytest.fixture(scope="module")
def scaled_out(platform):
    """credit_manager with two consumers in its group and a queue worker running four tasks at once."""
    credit = platform["credit_manager"]
    credit.restart("queue-worker", concurrency=4)
    credit.restart("kafka-worker", name="kafka-worker-2")
    producer = KafkaProducer(bootstrap_servers=credit.env["KAFKA_BOOTSTRAP_SERVERS"], acks="all")
    yield credit, producer
    producer.close()
    credit.processes.pop("kafka-worker-2").stop()
    credit.restart("queue-worker")


def applied(credit, events: list[dict]) -> int:
    ids = list({event["id"] for event in events})
    return credit.sql("SELECT count(*) FROM inbox_processedevent WHERE event_id = ANY(%s::uuid[])", (ids,))[0][0]


def wait_applied(credit, events: list[dict], timeout: float = 90) -> None:
    expected = len({event["id"] for event in events})
    wait_until(lambda: applied(credit, events) == expected, timeout=timeout, what=f"{expected} events applied")


def accounts(credit, customers: list[Customer]) -> dict[str, tuple]:
    rows = credit.sql(
        "SELECT user_id::text, status, credit_limit, monthly_income FROM accounts_creditaccount WHERE user_id = ANY(%s::uuid[])",
        ([c.id for c in customers],),
    )
    return {row[0]: tuple(row[1:]) for row in rows}


# A fixed budget, and no shrinking: a failure reports the example as found (shrinking real processes takes minutes).
@settings(
    max_examples=3, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
)
@given(histories=st.lists(STEPS, min_size=6, max_size=6), data=st.data())
def test_any_delivery_order_ends_as_applying_each_customers_events_in_order(scaled_out, histories, data):
    credit, producer = scaled_out
    in_order = [live(Customer(), steps) for steps in histories]
    shuffled = [live(Customer(), steps) for steps in histories]

    deliveries = []
    for customer in shuffled:
        order = data.draw(st.permutations(customer.events))
        deliveries.append(order + data.draw(st.lists(st.sampled_from(customer.events), max_size=2)))
    burst = [event for round_ in itertools.zip_longest(*deliveries) for event in round_ if event]  # customers interleaved
    produce(producer, burst)

    # The reference: each customer's next event is produced only once the previous one was applied.
    for step in range(max(len(c.events) for c in in_order)):
        events = [c.events[step] for c in in_order if step < len(c.events)]
        produce(producer, events)
        wait_applied(credit, events, timeout=60)

    wait_applied(credit, burst)
    expected, actual = accounts(credit, in_order), accounts(credit, shuffled)
    for reference, customer in zip(in_order, shuffled, strict=True):
        assert actual[customer.id] == expected[reference.id], f"steps {histories[shuffled.index(customer)]}"


def test_a_consumer_killed_in_the_middle_of_a_burst_loses_nothing_and_applies_nothing_twice(scaled_out, platform):
    credit, producer = scaled_out
    customers = []
    for _ in range(120):
        customer = Customer(income="3000.00")
        customer.change_income("12000.00")
        customer.block()
        customers.append(customer)
    events = [event for customer in customers for event in customer.events]
    produce(producer, events[: len(events) // 2])
    wait_until(lambda: applied(credit, events) > 0, timeout=60, what="the burst to start being applied")
    credit.processes["kafka-worker-2"].kill()
    produce(producer, events[len(events) // 2 :])
    wait_applied(credit, events, timeout=120)
    time.sleep(2)  # room for a duplicate application to show itself

    ids = [c.id for c in customers]
    per_account = credit.sql(
        """
        SELECT a.status, a.monthly_income,
               (SELECT count(*) FROM analysis_creditdecision d WHERE d.account_id = a.id AND d.trigger = 'onboarding'),
               (SELECT count(*) FROM outbox_outboxevent o WHERE o.subject = a.user_id::text AND o.event_type = 'credit.account.frozen')
        FROM accounts_creditaccount a WHERE a.user_id = ANY(%s::uuid[])
        """,
        (ids,),
    )
    assert len(per_account) == len(customers), "every customer has exactly one account"
    assert set(per_account) == {("frozen", Decimal("12000.00"), 1, 1)}, "each customer: its newest state, applied once"
    credit.restart("kafka-worker", name="kafka-worker-2")
