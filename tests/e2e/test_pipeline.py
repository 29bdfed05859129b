"""End to end over real Kafka, Celery workers, Postgres and Redis: the two services as they run in production."""

import json
import time
import uuid

import pytest
import requests

from common.testing import read_topic, wait_until
from stack import produce_raw

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
    import psycopg2

    from stack import _connect_args

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


def test_a_broker_outage_neither_fails_the_request_nor_loses_the_event(platform, keys, broker):
    """Last in this module: the memory-only broker comes back empty, and its consumer groups re-form."""
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
