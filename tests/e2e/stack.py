"""A whole platform for end-to-end tests: a broker of its own, and real processes of both services.

Every process is started with the command line production starts it with (``common.devstack.processes``;
beat runs inside the queue worker), against the Postgres and Redis of the test run and a tansu broker
that the tests may kill and restart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import requests

from common.devstack import processes as process_commands
from common.devstack.services import free_port
from common.devstack.stack import process_env
from common.testing import Broker, wait_until

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


class Process:
    """A child process in its own process group, logging to a file."""

    def __init__(self, name: str, args: list[str], *, cwd: Path, env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.cwd, self.env = name, args, cwd, env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.args, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole group (a Celery worker's children too) and wait for the leader."""
        if self.popen and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Service:
    """One Django service: its environment and its three processes."""

    name: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return ROOT / self.name

    @property
    def database(self) -> str:
        return e2e_database(self.name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PYTHON, "manage.py", *args], cwd=self.dir, env={**self.env, **(env or {})}, capture_output=True, text=True,
            check=check, timeout=120,
        )  # fmt: skip

    def process(self, role: str, *, name: str | None = None, concurrency: int = process_commands.DEFAULT_CELERY_CONCURRENCY) -> Process:
        """One process of ``role`` (named ``name`` when several of a role run, e.g. two consumers)."""
        name = name or role
        commands = {
            "api": process_commands.api(self.name, bind=f"127.0.0.1:{self.port}"),
            "kafka-worker": process_commands.kafka_worker(),
            "relay": process_commands.relay(),
            "queue-worker": process_commands.queue_worker(
                self.name,
                concurrency=concurrency,
                node_name=f"{self.name}-e2e-{name}@%h",
                beat_schedule=str(self.log_dir / f"{self.name}-{name}-beat-schedule"),
            ),
        }
        return Process(f"{self.name}-{name}", commands[role], cwd=self.dir, env=self.env, log_dir=self.log_dir)

    def start(self, *roles: str) -> None:
        for role in roles or ("api", "kafka-worker", "queue-worker", "relay"):
            self.processes[role] = self.process(role).start()
        if not roles or "api" in roles:
            wait_until(
                lambda: requests.get(f"{self.url}/api/v1/openapi.json", timeout=2).ok,
                timeout=30,
                what=f"{self.name} api",
                retry_on=(requests.ConnectionError, requests.Timeout),  # still starting
            )

    def restart(self, role: str, *, name: str | None = None, concurrency: int = process_commands.DEFAULT_CELERY_CONCURRENCY) -> None:
        """Start (again) the process ``name`` (default: the role's own) of ``role``, stopping it first if it runs."""
        name = name or role
        if name in self.processes:
            self.processes[name].stop()
        self.processes[name] = self.process(role, name=name, concurrency=concurrency).start()

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()

    def issue_key(self, scopes: str) -> dict[str, str]:
        raw_key = self.manage("create_api_key", "--name", "e2e", "--scopes", scopes).stdout.strip()
        return {"Authorization": f"Bearer {raw_key}"}

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg2.connect(**_connect_args(self.env["DATABASE_URL"])) as conn, conn.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes.values())


def _connect_args(database_url: str) -> dict:
    parts = urlsplit(database_url)
    args = {"dbname": parts.path.lstrip("/"), "user": parts.username or "postgres", "password": parts.password or ""}
    query = dict(pair.split("=", 1) for pair in parts.query.split("&") if pair)
    args["host"] = query.get("host") or parts.hostname
    if parts.port:
        args["port"] = parts.port
    return args


def e2e_database(service: str) -> str:
    """The service's database in this run (E2E_DB_SUFFIX lets two runs share one Postgres server)."""
    return f"e2e_{service}{os.environ.get('E2E_DB_SUFFIX', '')}"


def database_url(name: str) -> str:
    return os.environ["POSTGRES_URL_TEMPLATE"].replace("{db}", name)


def recreate_database(name: str) -> None:
    conn = psycopg2.connect(**_connect_args(database_url("postgres")))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


@contextlib.contextmanager
def database_down(name: str) -> Iterator[None]:
    """The database as a restart leaves it for its clients: every connection ended, new ones refused
    until the block ends."""
    conn = psycopg2.connect(**_connect_args(database_url("postgres")))
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        yield
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        conn.close()


def service_env(name: str, *, broker: Broker, redis_dbs: tuple[int, int], **extra: str) -> dict[str, str]:
    """Our environment with the service's variables, and this venv first on PATH (for the commands' programs)."""
    redis = os.environ["REDIS_URL"].rstrip("/")
    return process_env({
        "DJANGO_SETTINGS_MODULE": f"{name}.settings",
        "DJANGO_ENVIRONMENT": "test",
        "DJANGO_SECRET_KEY": "e2e-secret",
        "DATABASE_URL": database_url(e2e_database(name)),
        "CACHE_URL": f"{redis}/{redis_dbs[0]}",
        "CELERY_BROKER_URL": f"{redis}/{redis_dbs[1]}",
        "KAFKA_BOOTSTRAP_SERVERS": broker.address,
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "KAFKA_REQUEST_TIMEOUT_MS": "5000",
        "OUTBOX_SWEEP_SECONDS": "1",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        **extra,
    })


def flush_redis(db: int) -> None:
    import redis

    redis.Redis.from_url(f"{os.environ['REDIS_URL'].rstrip('/')}/{db}").flushdb()


def produce_raw(broker: Broker, topic: str, value: bytes, key: bytes = b"garbage") -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=broker.address, acks="all")
    producer.send(topic, key=key, value=value).get(timeout=10)
    producer.close()
