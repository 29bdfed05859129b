"""End to end over real Kafka, Celery workers, Postgres and Redis: the two services as they run in production."""

import json
import os
import signal
import subprocess
import time
import uuid

import psycopg2
import pytest
import requests
from kafka import KafkaProducer

from common.testing import read_topic, wait_until
from customers import Customer, produce
from stack import PYTHON, _connect_args, database_down, produce_raw

pytestmark = pytest.mark.e2e

CUSTOMER = {"full_name": "Joana Pereira", "birth_date": "1988-07-14", "monthly_income": "6200.00"}
VALID_CPFS = ["39053344705", "11144477735", "52998224725", "16899535009", "04403858024", "93541134780"]


def new_customer(platform, headers, tax_id):
    body = {**CUSTOMER, "email": f"{uuid.uuid4().hex[:10]}@example.com", "tax_id": tax_id}
    response = requests.post(f"{platform['user_manager'].url}/api/v1/users", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def account_of(platform, headers, user_id):
    response = requests.get(
        f"{platform['credit_manager'].url}/api/v1/accounts", params={"user_id": user_id}, headers=headers, timeout=10
    )
    return response.json()["items"] if response.ok else []


@pytest.fixture(scope="module")
def keys(platform):
    return {
        "users": platform["user_manager"].issue_key("users:read,users:write"),
        "credit": platform["credit_manager"].issue_key("credit:read"),
    }


def test_a_customer_created_in_user_manager_gets_a_credit_account(platform, keys):
    user_id = new_customer(platform, keys["users"], VALID_CPFS[0])
    [account] = wait_until(lambda: account_of(platform, keys["credit"], user_id), timeout=30, what="the account")
    assert account["status"] == "active" and account["user_id"] == user_id


def test_garbage_on_the_topic_is_dead_lettered_and_the_consumer_keeps_going(platform, keys, broker):
    produce_raw(broker, "users.events", b"\x00\x01 not an event \xff")
    user_id = new_customer(platform, keys["users"], VALID_CPFS[1])
    wait_until(lambda: account_of(platform, keys["credit"], user_id), timeout=30, what="the account after the garbage")
    [dead] = read_topic("credit_manager.dlq", expect=1, bootstrap_servers=broker.address)
    assert dead.value == b"\x00\x01 not an event \xff"
    assert dict(dead.headers)["dlq_origin"].startswith(b"users.events/")
    # The consumer reports its progress at most once a second, so the count shows up shortly after.
    health = wait_until(
        lambda: (h := kafka_worker_health(platform["credit_manager"])) and "dead_lettered=1" in h.stdout and h,
        timeout=15,
        what="the dead-lettered message in the consumer's health report",
    )
    assert health.returncode == 0, health.stdout
    assert "dead_lettered=1" in json.loads(health.stdout)["checks"]["consumer"]


def kafka_worker_health(service):
    return service.manage("health_check", "--service", "kafka-worker", check=False)


def test_a_queue_worker_killed_mid_task_loses_nothing_and_the_effect_happens_once(platform, keys):
    credit = platform["credit_manager"]
    blocker = psycopg2.connect(**_connect_args(credit.env["DATABASE_URL"]))
    with blocker.cursor() as cursor:
        # Hold back account inserts, so the task that opens the account is caught mid-way.
        cursor.execute("LOCK TABLE accounts_creditaccount IN SHARE ROW EXCLUSIVE MODE")
    user_id = new_customer(platform, keys["users"], VALID_CPFS[3])
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    wait_until(lambda: credit.sql(waiting)[0][0] >= 1, timeout=30, what="the task to block on the lock")

    credit.processes["queue-worker"].kill()
    blocker.rollback()
    blocker.close()
    credit.restart("queue-worker")

    wait_until(lambda: account_of(platform, keys["credit"], user_id), timeout=60, what="the redelivered task")
    time.sleep(3)  # room for any duplicate execution to show itself
    assert credit.sql("SELECT count(*) FROM accounts_creditaccount WHERE user_id = %s", (user_id,)) == [(1,)]
    assert credit.sql("SELECT count(*) FROM inbox_processedevent WHERE subject = %s", (user_id,)) == [(1,)]
    assert credit.sql(
        "SELECT count(*) FROM outbox_outboxevent WHERE subject = %s AND event_type = 'credit.account.opened'", (user_id,)
    ) == [(1,)]


def test_a_pool_child_killed_after_a_commit_and_before_the_ack_applies_nothing_twice(platform, broker):
    """The case the inbox exists for: an event of the batch committed, the task not yet acknowledged.

    A batch with an event whose payload does not fit its type cannot apply in one transaction, so its
    events apply one by one: the first commits, the broken one is dead-lettered, the last waits on a
    row lock, and the pool child running the task is killed then.
    """
    credit = platform["credit_manager"]
    producer = KafkaProducer(bootstrap_servers=broker.address, acks="all")
    waiting_one = Customer()
    produce(producer, waiting_one.events)
    wait_until(lambda: credit.sql(ACCOUNT_STATUS, (waiting_one.id,)), timeout=30, what="the first customer's account")

    blocker = psycopg2.connect(**_connect_args(credit.env["DATABASE_URL"]))
    try:
        with blocker.cursor() as cursor:
            cursor.execute("SELECT 1 FROM accounts_creditaccount WHERE user_id = %s FOR UPDATE", (waiting_one.id,))
        waiting_one.block()
        partitions = len(producer.partitions_for("users.events"))
        first = Customer(same_partition_as=(waiting_one, partitions))  # all three come in one poll, one task
        broken = {**Customer(same_partition_as=(waiting_one, partitions)).events[0], "type": "user.updated"}
        broken["data"] = {**broken["data"], "monthly_income": "lots"}
        produce(producer, [first.events[0], broken, waiting_one.events[-1]])
        wait_until(lambda: credit.sql(ACCOUNT_STATUS, (first.id,)), timeout=30, what="the batch's first event to commit")
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        wait_until(lambda: credit.sql(waiting)[0][0] >= 1, timeout=30, what="the batch's last event to wait on the lock")

        child = pool_child_running(credit, "common.messaging.process_events")
        os.kill(child, signal.SIGKILL)
    finally:
        blocker.rollback()
        blocker.close()

    wait_until(lambda: credit.sql(ACCOUNT_STATUS, (waiting_one.id,)) == [("frozen",)], timeout=60, what="the redelivered batch")
    outcomes = [line for line in credit.processes["queue-worker"].log_path.read_text().splitlines() if first.events[0]["id"] in line]
    assert any("event duplicate" in line for line in outcomes), "the batch was not delivered again"
    assert credit.sql(
        "SELECT count(*) FROM outbox_outboxevent WHERE subject = %s AND event_type = 'credit.account.opened'", (first.id,)
    ) == [(1,)]
    assert credit.sql(
        "SELECT count(*) FROM analysis_creditdecision d JOIN accounts_creditaccount a ON a.id = d.account_id WHERE a.user_id = %s",
        (first.id,),
    ) == [(1,)]
    producer.close()


ACCOUNT_STATUS = "SELECT status FROM accounts_creditaccount WHERE user_id = %s"


def pool_child_running(service, task_name: str) -> int:
    """The pid of the pool process running ``task_name`` now (Celery's own answer to ``inspect active``)."""
    inspected = subprocess.run(
        [PYTHON, "-m", "celery", "-A", service.name, "inspect", "active", "--json", "--timeout", "5"],
        cwd=service.dir, env=service.env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    active = json.loads(inspected.stdout.strip().splitlines()[-1])
    [pid] = [task["worker_pid"] for tasks in active.values() for task in tasks if task["name"] == task_name]
    return pid


def test_an_operator_replays_dead_lettered_events_and_the_workers_apply_them(platform, broker):
    """An event dead-lettered earlier (e.g. before a fix was deployed) sits on the dead-letter topic."""
    credit = platform["credit_manager"]
    customer = Customer()
    [created] = customer.events
    produce_raw(broker, "credit_manager.dlq", json.dumps(created).encode(), key=customer.id.encode())
    replayed = credit.manage("replay_dead_letters", "--since", "1h", "--type", "user.created")
    assert "replayed 1 event(s)" in replayed.stdout, replayed.stdout + replayed.stderr
    wait_until(lambda: credit.sql(ACCOUNT_STATUS, (customer.id,)) == [("active",)], timeout=30, what="the replayed event")


def test_a_database_outage_answers_json_503_loses_no_event_and_the_workers_reconnect(platform, keys, broker):
    credit = platform["credit_manager"]
    reader = credit.issue_key("credit:read")
    accounts_url = f"{credit.url}/api/v1/accounts"
    assert requests.get(accounts_url, headers=reader, timeout=10).status_code == 200  # the key is known now
    producer = KafkaProducer(bootstrap_servers=broker.address, acks="all")
    arriving = Customer()
    with database_down(credit.database):
        produce(producer, arriving.events)  # consumed and handed off while the database is away
        time.sleep(2)
        during = requests.get(accounts_url, headers=reader, timeout=10)
        assert during.status_code == 503, during.text
        assert during.json()["code"] == "SERVICE_UNAVAILABLE" and int(during.headers["Retry-After"]) > 0
    wait_until(lambda: credit.sql(ACCOUNT_STATUS, (arriving.id,)) == [("active",)], timeout=90, what="the event after the outage")
    assert requests.get(accounts_url, headers=reader, timeout=10).status_code == 200, "the API reconnected"
    producer.close()


def test_a_broker_outage_neither_fails_the_request_nor_loses_the_event(platform, keys, broker):
    """The memory-only broker comes back empty and its consumer groups re-form; the tests after it still pass."""
    broker.kill()
    started = time.monotonic()
    user_id = new_customer(platform, keys["users"], VALID_CPFS[2])
    assert time.monotonic() - started < 5, "the API waited for Kafka"
    pending = platform["user_manager"].sql(
        "SELECT count(*) FROM outbox_outboxevent WHERE subject = %s AND sent_at IS NULL", (user_id,)
    )
    assert pending == [(1,)]
    time.sleep(3)  # let the relay fail against the dead broker at least once
    broker.start()
    wait_until(lambda: account_of(platform, keys["credit"], user_id), timeout=90, what="the account after the outage")
