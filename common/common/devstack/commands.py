"""What ``run``, ``exec`` and ``api-key`` do."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import psutil
from honcho.manager import Manager
from honcho.printer import Printer

from . import paths
from .services import BackingServices, backing_services, stop_orphaned_postgres
from .stack import (
    SERVICES,
    Service,
    StackError,
    manage,
    manage_or_fail,
    process_env,
    processes,
    read_env_file,
    service_env,
    service_named,
    set_up,
    write_env_file,
)
from .supervisor import start_logged, supervise

#: ``exec`` keeps its throw-away data in <devstack dir>/test-<its pid>.
TEST_DIR_PREFIX = "test-"


def run_stack() -> int:
    """Set up and run both services on persistent backing services until Ctrl-C; returns the exit code."""
    state_dir = paths.devstack_dir()
    state_dir.mkdir(parents=True, exist_ok=True)
    exit_on_sigterm()
    with run_lock(), backing_services(state_dir, persistent=True) as backing:
        envs = {service: service_env(service, backing) for service in SERVICES}
        broker_started_at = datetime.now(UTC)  # the broker was started just now, or is not ours
        create_databases(backing)
        for service, env in envs.items():
            set_up(service, env)
        if backing.kafka_is_embedded:
            replay_events_lost_with_previous_broker(envs, started_at=broker_started_at)
        for service, env in envs.items():
            write_env_file(paths.env_file(service.name), env)
        log_dir = paths.log_dir()
        print_banner(backing, log_dir)
        if log_dir is not None:  # each process's output in a file of its own, no access log: as production runs them
            started = {}
            for service, env in envs.items():
                for name, command in processes(service, state_dir, access_log=False).items():
                    started[name] = start_logged(name, command, env=process_env(env), cwd=service.folder, log_dir=log_dir)
            return supervise(started, log_dir)  # until Ctrl-C, SIGTERM or the first process exits; stops all of them
        manager = Manager(Printer(sys.stdout))
        for service, env in envs.items():
            for name, command in processes(service, state_dir).items():
                manager.add_process(name, command, env=process_env(env), cwd=str(service.folder))
        manager.loop()  # until Ctrl-C, SIGTERM or the first process exits; stops all of them
        return manager.returncode or 0


def exec_command(command: list[str]) -> int:
    """Run ``command`` with throw-away backing services; returns its exit code.

    Nothing is created in the services (no databases, no topics): the command sets up what
    it needs. It gets these variables:

    ``POSTGRES_URL``
        Server URL without a database. Append ``/DBNAME`` before the query string (if any) to
        get a database URL: ``postgres://postgres@127.0.0.1:5432`` (TCP, as given) or
        ``postgres://postgres@?host=/socket/dir`` (embedded: unix socket only), whose database
        URLs are ``postgres://postgres@127.0.0.1:5432/DBNAME`` and
        ``postgres://postgres@/DBNAME?host=/socket/dir``.
    ``POSTGRES_URL_TEMPLATE``
        The same with ``{db}`` where the database name goes, e.g.
        ``postgres://postgres@/{db}?host=/socket/dir``.
    ``REDIS_URL``
        ``redis://127.0.0.1:PORT``, no database number.
    ``KAFKA_BOOTSTRAP_SERVERS``
        ``host:port[,host:port...]``.
    ``TANSU_BIN``
        The Kafka-compatible broker binary, for tests that start (and kill) a broker of their own.
    ``DJANGO_ENVIRONMENT``
        ``test`` unless the environment sets it: what runs on throw-away services is not production.

    Variables named by the environment (``POSTGRES_URL``, ``REDIS_URL``,
    ``KAFKA_BOOTSTRAP_SERVERS``) select those services instead of embedded ones.
    """
    if not command:
        raise StackError("nothing to run: python -m common.devstack exec -- CMD [ARGS...]")
    remove_test_leftovers()
    data_dir = paths.devstack_dir() / f"{TEST_DIR_PREFIX}{os.getpid()}"
    exit_on_sigterm()
    try:
        with backing_services(data_dir, persistent=False) as backing:
            return run_child(command, {"DJANGO_ENVIRONMENT": "test", **os.environ, **exported_variables(backing)})
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def remove_test_leftovers() -> None:
    """Remove the data folders of ``exec`` runs that were killed before they could clean up.

    Their Redis and Kafka died with them; their Postgres did not (pg_ctl detaches it).
    """
    for data_dir in paths.devstack_dir().glob(f"{TEST_DIR_PREFIX}*"):
        owner_pid = data_dir.name.removeprefix(TEST_DIR_PREFIX)
        if owner_pid.isdigit() and psutil.pid_exists(int(owner_pid)):
            continue  # a running exec
        stop_orphaned_postgres(data_dir / "postgres")
        shutil.rmtree(data_dir, ignore_errors=True)


def exported_variables(backing: BackingServices) -> dict[str, str]:
    return {
        "POSTGRES_URL": backing.postgres_url,
        "POSTGRES_URL_TEMPLATE": backing.database_url("{db}"),
        "REDIS_URL": backing.redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": backing.kafka_bootstrap_servers,
        "TANSU_BIN": backing.tansu_bin,
    }


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` in the foreground the way a shell does; returns its exit code (128+N if killed by signal N).

    Like a shell, this process ignores Ctrl-C while the command runs (the terminal sends it to
    the command too) and lets the command decide when to stop; SIGTERM is passed on.
    """
    try:
        child = subprocess.Popen(command, env=env)  # nosec B603 # the command devstack exec was given, no shell
    except OSError as error:
        print(f"devstack: cannot run {command[0]!r}: {error}", file=sys.stderr)
        return 127
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_term = signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    try:
        returncode = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    return 128 - returncode if returncode < 0 else returncode


def create_api_key(service_name: str, scopes: str, name: str | None) -> int:
    """Create an API key in the running local stack; the service's command prints it once."""
    service = service_named(service_name)
    env_path = paths.env_file(service.name)
    if not env_path.exists():
        raise StackError(f"the local stack was never started ({env_path} is missing): start it with `make run`")
    if not stack_is_running():
        raise StackError("the local stack is not running: start it with `make run` (in another terminal)")
    key_name = name or f"dev-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    return manage(service, "create_api_key", "--name", key_name, "--scopes", scopes, env=read_env_file(env_path))


def create_databases(backing: BackingServices) -> None:
    """Create each service's database unless it exists (CREATE DATABASE cannot run in a transaction)."""
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(backing.database_url("postgres"))
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            for service in SERVICES:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [service.name])
                if cursor.fetchone() is None:
                    print(f"devstack: creating database {service.name}", file=sys.stderr)
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(service.name)))
    finally:
        connection.close()


def replay_events_lost_with_previous_broker(envs: dict[Service, dict[str, str]], *, started_at: datetime) -> None:
    """Re-publish the outbox since the previous memory-only broker started, then remember this start.

    The embedded broker forgets everything when it stops; the outboxes still hold what was sent.
    """
    record = paths.broker_started_at_file()
    if record.exists():
        since = record.read_text().strip()
        for service, env in envs.items():
            manage_or_fail(service, "replay_outbox", "--since", since, env=env)
    record.write_text(started_at.isoformat(timespec="seconds") + "\n")


def print_banner(backing: BackingServices, log_dir: Path | None = None) -> None:
    lines = ["", "Local stack (Ctrl-C stops everything):"]
    for service in SERVICES:
        lines += [
            f"  {service.name:<15} {service.url}",
            f"  {'':<15} admin:    {service.url}/admin/",
            f"  {'':<15} API docs: {service.url}/api/v1/docs",
        ]
    lines += [
        "  Dev admin login (local stack only): admin / admin",
        "  API key: make api-key SERVICE=user_manager SCOPES=users:read,users:write",
        *(f"  {name + ':':<10} {address}" for name, address in backing.describe().items()),
        f"  Data:      {paths.devstack_dir()} (`make clean-data` resets it)",
        *([f"  Logs:      {log_dir}/<process>.log (DEVSTACK_LOG_DIR; no access log)"] if log_dir is not None else []),
        "",
    ]
    print("\n".join(lines), flush=True)


@contextmanager
def run_lock() -> Iterator[None]:
    """Only one ``run`` at a time: two would share (and stop) the same embedded Postgres."""
    with paths.run_lock_file().open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackError(f"the local stack is already running (lock: {paths.run_lock_file()})") from None
        yield


def stack_is_running() -> bool:
    if not paths.run_lock_file().exists():
        return False
    with paths.run_lock_file().open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C does, so the ``with`` blocks stop what they started."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
