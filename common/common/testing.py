"""Pytest fixtures shared by the services' suites (loaded with ``-p common.testing``).

They talk to the real Postgres, Redis and Kafka of the test run; nothing here is a mock.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from common.devstack.services import free_port, tansu_bin

# Django-dependent imports happen inside the fixtures: this plugin loads before Django is set up.


@pytest.fixture
def api_client(db) -> Callable[..., object]:
    """``api_client("users:read")``: a test client that sends a freshly issued key with these scopes."""
    from django.test import Client

    from common.apikeys.services import issue_api_key

    def make(*scopes: str) -> Client:
        _, raw_key = issue_api_key(name=f"test-{uuid.uuid4().hex[:6]}", scopes=list(scopes))
        return Client(headers={"Authorization": f"Bearer {raw_key}"})

    return make


@contextlib.contextmanager
def separate_connection() -> Iterator[object]:
    """A psycopg2 connection to the test database of its own, in autocommit, outside Django: another
    client's view (what it sees, what it waits for), or the server side's doing (ending a backend)."""
    import psycopg2
    from django.db import connection

    params = connection.get_connection_params()
    other = psycopg2.connect(**{k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port")})
    try:
        other.autocommit = True
        yield other
    finally:
        other.close()


def last_message_received(backend_pid: int) -> str:
    """What the Postgres server last received from that backend's client, as one message (its text in
    ``pg_stat_activity``)."""
    with separate_connection() as other, other.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [backend_pid])
        return cursor.fetchone()[0]


class FuzzingKey:
    """The API key an in-process schemathesis run sends, given to schemathesis as the API's auth (not as
    plain headers), so it knows which requests are meant to lack it: ``ignored_auth`` and the invalid
    requests that drop ``Authorization`` stay honest.

    Made when the test module loads (schemathesis sets the auth of the cases it builds at collection);
    each test stores it with :meth:`store`, since the test database starts empty.
    """

    def __init__(self, schema, *, scopes: list[str]) -> None:
        self.raw_key = f"fz_{secrets.token_urlsafe(32)}"
        self.scopes = scopes
        raw_key = self.raw_key

        @schema.auth(refresh_interval=None)
        class BearerKey:
            def get(self, case, context) -> str:
                return raw_key

            def set(self, case, data: str, context) -> None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    def store(self) -> None:
        from common.apikeys.models import ApiKey
        from common.apikeys.services import hash_key

        ApiKey.objects.create(name="fuzz", prefix=self.raw_key[:10], key_hash=hash_key(self.raw_key), scopes=self.scopes)


@pytest.fixture
def dead_letter_topic() -> Iterator[str]:
    """A dead-letter topic of the test's own, in force for the test."""
    from django.test import override_settings

    from common.messaging.kafka import discard_producer, ensure_topics

    topic = f"test.dlq.{uuid.uuid4().hex[:8]}"
    ensure_topics([topic])
    discard_producer()
    with override_settings(KAFKA_DEAD_LETTER_TOPIC=topic):
        yield topic
    discard_producer()


@contextlib.contextmanager
def cache_away() -> Iterator[None]:
    """The cache (Redis) pointed at a port nothing listens on: every call to it fails at once."""
    import copy

    from django.conf import settings
    from django.test import override_settings

    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(CACHES=caches):
        yield


@contextlib.contextmanager
def database_away() -> Iterator[None]:
    """The test's database connection re-opened against a port nothing listens on, then restored."""
    from django.db import connection

    real_port, real_host = connection.settings_dict.get("PORT"), connection.settings_dict.get("HOST")
    connection.close()
    connection.settings_dict["PORT"], connection.settings_dict["HOST"] = free_port(), "127.0.0.1"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"], connection.settings_dict["HOST"] = real_port, real_host


@contextlib.contextmanager
def database_refuses_new_rows(model) -> Iterator[None]:
    """The database refuses every new row of ``model``'s table, with an error that holds the row's values
    (``Failing row contains (...)``): a real failure whose text must never reach a log."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT refuses_every_row CHECK (false) NOT VALID")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT refuses_every_row")


@pytest.fixture
def kafka_topic() -> str:
    """A new topic of its own for one test."""
    from common.messaging.kafka import ensure_topics

    topic = f"test.{uuid.uuid4().hex[:12]}"
    ensure_topics([topic])
    return topic


def run_check(command: str, capsys) -> tuple[int, str]:
    """A checking management command's exit code (0, or the one it exits with) and all it wrote."""
    from django.core.management import call_command

    try:
        call_command(command)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def read_topic(topic: str, *, expect: int, timeout: float = 20.0, bootstrap_servers: str | None = None) -> list:
    """Every record of ``topic`` from the beginning, waiting until at least ``expect`` have arrived.

    Uses the service's Kafka settings unless ``bootstrap_servers`` is given (tests without Django).
    """
    if bootstrap_servers:
        config = {"bootstrap_servers": bootstrap_servers}
    else:
        from common.messaging.kafka import client_config

        config = client_config()
    consumer = KafkaConsumer(**config, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list = []
        deadline = time.monotonic() + timeout
        while len(records) < expect and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float,
    interval: float = 0.25,
    what: str = "condition",
    retry_on: tuple[type[BaseException], ...] = (),
) -> object:
    """Poll ``condition`` until it returns something truthy, and return that.

    An exception fails the wait at once (a failing request must not pass for "not yet"), except the
    kinds in ``retry_on`` that mean "not there yet" (a server still starting: ``ConnectionError``).
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except retry_on as exc:
            result, last_error = None, exc
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from last_error


class TaskQueue:
    """The service's real Celery queue in Redis, read the way a worker would receive it."""

    name = "celery"

    def _client(self, conn):
        return conn.default_channel.client

    def clear(self) -> None:
        from celery import current_app

        with current_app.connection_for_write() as conn:
            self._client(conn).delete(self.name)

    def messages(self, task_name: str | None = None) -> list[dict]:
        """The queued tasks, oldest first: ``{"task", "args", "retries", "eta"}`` each."""
        import json

        from celery import current_app
        from kombu.serialization import loads, prepare_accept_content

        with current_app.connection_for_write() as conn:
            raw = self._client(conn).lrange(self.name, 0, -1)
        accept = prepare_accept_content(current_app.conf.accept_content)
        found = []
        for item in reversed(raw):  # kombu pushes on the left
            message = json.loads(item)
            args, _kwargs, _embed = loads(message["body"], message["content-type"], message["content-encoding"], accept=accept)
            headers = message["headers"]
            found.append({"task": headers["task"], "args": args, "retries": headers.get("retries", 0), "eta": headers.get("eta")})
        return [m for m in found if task_name is None or m["task"] == task_name]


@pytest.fixture
def task_queue() -> TaskQueue:
    """The real Celery queue of this suite, emptied for the test."""
    queue = TaskQueue()
    queue.clear()
    return queue


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache (Redis database of this suite, and this process's memory) and
    no rate-limit lease taken from it."""
    from django.core.cache import cache

    from common.process_memory import forget_everything
    from common.ratelimit import forget_leases

    cache.clear()
    forget_everything()
    forget_leases()
    yield


class Broker:
    """A tansu broker of the test's own (memory only): killing it loses all it held, as a real outage would."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log_path = log_dir / f"tansu-{self.port}.log"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = os.environ.get("TANSU_BIN") or tansu_bin()
        url = f"tcp://{self.address}"
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(  # nosec B603 # the tansu binary the test stack installed, no shell
                [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._accepts, timeout=20, what="the broker to listen", retry_on=(OSError,))

    def kill(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    def _accepts(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True
