"""The stack under test: started the way ``make run`` starts it (``python -m common.devstack run``) on
throw-away data, or the one already running.

The benchmark's own stack lives in ``.devstack/bench`` with ports of its own, so it runs next to a
developer's ``make run`` without touching its data; it always uses embedded Postgres, Redis and
Kafka (fresh for every run), whatever ``POSTGRES_URL`` and friends say. Its processes run as
production runs them: each one's output in a file of its own (``DEVSTACK_LOG_DIR``, in the work
folder's ``logs/``), no log relay, no access log.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg2
import requests

from bench.config import REPO_ROOT
from common.devstack import paths
from common.devstack.commands import stack_is_running
from common.devstack.services import _die_with_parent, free_port, stop_orphaned_postgres
from common.devstack.stack import SERVICES, Service, process_env, read_env_file

OWN_STATE_DIR = REPO_ROOT / ".devstack" / "bench"
WORK_DIR = REPO_ROOT / ".devstack" / "bench-work"
START_TIMEOUT_SECONDS = 240.0
STOP_TIMEOUT_SECONDS = 60.0
SHELLS = ("sh", "dash", "bash")  # honcho (`make run`) runs each command through /bin/sh -c; the bench's own stack does not
SCOPES = {"user_manager": "users:read,users:write", "credit_manager": "credit:read,credit:write"}
BENCH_RATE_LIMITS = (
    "API_RATE_LIMIT_READS_PER_KEY",
    "API_RATE_LIMIT_WRITES_PER_KEY",
    "API_RATE_LIMIT_READS_PER_ADDRESS",
    "API_RATE_LIMIT_WRITES_PER_ADDRESS",
)
BENCH_RATE_LIMIT = 1_000_000_000  # requests per window: never reached


class StackFailed(RuntimeError):
    """The stack could not be started or reached; the message says why."""


@dataclass
class ServiceHandle:
    """One service of the stack: where its API listens and the environment its processes run with."""

    service: Service
    url: str
    variables: dict[str, str]
    api_key: str = ""
    _connection: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def prefix(self) -> str:
        return self.service.prefix

    @property
    def folder(self) -> Path:
        return self.service.folder

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a process of this service (as devstack runs them), with ``bench`` importable."""
        env = process_env(self.variables)
        return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])), **extra}

    def manage(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # nosec B603 # our own manage.py, no shell
            [sys.executable, "manage.py", *arguments],
            cwd=self.folder, env=self.env(), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def query(self, sql: str, params: Any = ()) -> list[tuple]:
        """Run ``sql`` on the service's database (autocommit), on one connection kept for the run."""
        if self._connection is None or self._connection.closed:
            self._connection = psycopg2.connect(self.variables["DATABASE_URL"])
            self._connection.autocommit = True
        with self._connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Stack:
    services: dict[str, ServiceHandle]
    root_pid: int
    """The ``devstack run`` process: every process of the stack but Postgres descends from it."""
    pgdata: Path | None
    """The embedded Postgres's data folder (its postmaster is detached, found by its pid file)."""
    redis_url: str
    kafka: str
    log: Path
    """devstack's own output (setting up, starting and stopping the stack)."""
    log_dir: Path
    """Each process's output, a file each (``<process>.log``); the read baseline's too."""
    notes: list[str] = field(default_factory=list)

    @property
    def user_manager(self) -> ServiceHandle:
        return self.services["user_manager"]

    @property
    def credit_manager(self) -> ServiceHandle:
        return self.services["credit_manager"]

    def processes(self) -> list[psutil.Process]:
        """Every process of the stack now: devstack, both services' processes, Redis, Kafka and Postgres."""
        found: list[psutil.Process] = []
        try:
            root = psutil.Process(self.root_pid)
            found += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
        postmaster = self._postmaster()
        if postmaster is not None:
            found += [postmaster, *postmaster.children(recursive=True)]
        return found

    def main_process(self, handle: ServiceHandle, marker: str) -> int | None:
        """The pid of the service's process whose command holds ``marker`` (``granian``, ``consume_kafka``,
        ``celery``) and whose parent's does not: granian's main process, not a worker; Celery's main process."""
        for process in self.processes():
            try:
                if process.name() in SHELLS or marker not in " ".join(process.cmdline()):
                    continue
                if process.cwd() == str(handle.folder):
                    parent = process.parent()
                    if parent is None or parent.name() in SHELLS or marker not in " ".join(parent.cmdline()):
                        return process.pid
            except psutil.Error:
                continue
        return None

    def _postmaster(self) -> psutil.Process | None:
        if self.pgdata is None:
            return None
        try:
            return psutil.Process(int((self.pgdata / "postmaster.pid").read_text().split()[0]))
        except (OSError, ValueError, IndexError, psutil.Error):
            return None

    def close(self) -> None:
        for handle in self.services.values():
            handle.close()

    def issue_api_keys(self, run_id: str) -> None:
        for handle in self.services.values():
            created = handle.manage("create_api_key", "--name", f"bench-{run_id}", "--scopes", SCOPES[handle.name])
            if created.returncode != 0:
                raise StackFailed(f"{handle.name}: create_api_key failed:\n{created.stderr[-2000:]}")
            handle.api_key = created.stdout.strip().splitlines()[-1]


@contextmanager
def own_stack(prepare: Callable[[], None], work_dir: Path = WORK_DIR) -> Iterator[Stack]:
    """A fresh stack in ``.devstack/bench`` for as long as the block runs; stopped however the block exits.

    ``prepare`` runs once no other benchmark's stack is found running (it may clear shared scratch files).
    devstack's output goes to ``<work_dir>/stack.log``, each process's to ``<work_dir>/logs/<process>.log``.
    """
    if (OWN_STATE_DIR / "run.lock").exists() and _lock_held(OWN_STATE_DIR):
        raise StackFailed(f"another benchmark's stack is running ({OWN_STATE_DIR}); wait for it or stop it")
    prepare()
    stop_orphaned_postgres(OWN_STATE_DIR / "postgres")  # left by a benchmark that was killed
    shutil.rmtree(OWN_STATE_DIR, ignore_errors=True)
    ports = {service.port_variable: str(free_port()) for service in SERVICES}
    env = {
        **os.environ,
        **ports,
        "DEVSTACK_DIR": str(OWN_STATE_DIR),
        # Empty (not unset): the repository's .env cannot fill them in, so every backing service is embedded.
        **{name: "" for name in ("POSTGRES_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "DEVSTACK_REDIS_PORT", "DEVSTACK_KAFKA_PORT")},
        "DEVSTACK_BIND_HOST": "127.0.0.1",
        # Each process's output in a file of its own and no access log, as in production (no honcho relaying it).
        "DEVSTACK_LOG_DIR": str(work_dir / "logs"),
        # One key from one address drives thousands of requests a second: the limiter still counts each
        # (its cost is measured) but never refuses, so the runs measure the API, not its refusals.
        **{name: str(BENCH_RATE_LIMIT) for name in BENCH_RATE_LIMITS},
    }
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / "stack.log"
    with log.open("ab") as output:
        process = subprocess.Popen(  # nosec B603 # the local stack, no shell
            [sys.executable, "-m", "common.devstack", "run"],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
    urls = {service.name: f"http://127.0.0.1:{ports[service.port_variable]}" for service in SERVICES}
    stack = None
    try:
        stack = _wait_for_stack(process, OWN_STATE_DIR, urls, log, work_dir / "logs")
        yield stack
    finally:
        if stack is not None:
            stack.close()
        _stop(process)


def running_stack(prepare: Callable[[], None]) -> Stack:
    """The stack ``make run`` started (``DEVSTACK_DIR``, default ``.devstack``)."""
    if not stack_is_running():
        raise StackFailed("STACK=running, but no local stack is running: start it with `make run`")
    prepare()
    state_dir = paths.devstack_dir()
    root = _lock_holder(state_dir / "run.lock")
    if root is None:
        raise StackFailed(f"cannot find the process that runs the stack (holder of {state_dir / 'run.lock'})")
    urls = {service.name: service.url for service in SERVICES}
    return _stack(state_dir, urls, root_pid=root, log=WORK_DIR / "stack.log", log_dir=WORK_DIR / "logs")


def _wait_for_stack(process: subprocess.Popen[bytes], state_dir: Path, urls: dict[str, str], log: Path, log_dir: Path) -> Stack:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    print(f"bench: starting the stack in {state_dir} (log: {log})", file=sys.stderr)
    while True:
        if process.poll() is not None:
            raise StackFailed(f"the stack exited with code {process.returncode}; its log ({log}):\n{_tail(log)}")
        if _env_files_written(state_dir) and all(_answers(url) for url in urls.values()):
            break
        if time.monotonic() > deadline:
            raise StackFailed(f"the stack was not up after {START_TIMEOUT_SECONDS:.0f}s; its log ({log}):\n{_tail(log)}")
        time.sleep(0.5)
    stack = _stack(state_dir, urls, root_pid=process.pid, log=log, log_dir=log_dir)
    _wait_for_workers(stack, process, deadline)
    return stack


def _env_files_written(state_dir: Path) -> bool:
    return all((state_dir / "env" / f"{service.name}.env").exists() for service in SERVICES)


def _stack(state_dir: Path, urls: dict[str, str], *, root_pid: int, log: Path, log_dir: Path) -> Stack:
    handles = {}
    for service in SERVICES:
        variables = read_env_file(state_dir / "env" / f"{service.name}.env")
        handles[service.name] = ServiceHandle(service=service, url=urls[service.name], variables=variables)
    any_env = handles["user_manager"].variables
    pgdata = state_dir / "postgres"
    return Stack(
        services=handles,
        root_pid=root_pid,
        pgdata=pgdata if (pgdata / "postmaster.pid").exists() else None,
        redis_url=any_env["CACHE_URL"].rsplit("/", 1)[0],
        kafka=any_env["KAFKA_BOOTSTRAP_SERVERS"],
        log=log,
        log_dir=log_dir,
    )


def _wait_for_workers(stack: Stack, process: subprocess.Popen[bytes], deadline: float) -> None:
    """Every consumer has polled and every queue worker answers a ping (``health_check`` of each)."""
    pending = [(handle, role) for handle in stack.services.values() for role in ("kafka-worker", "queue-worker")]
    while pending:
        if process.poll() is not None:
            raise StackFailed(f"the stack exited with code {process.returncode}; its log ({stack.log}):\n{_tail(stack.log)}")
        checks = [
            (handle, role, subprocess.Popen(  # nosec B603 # our own health_check, no shell
                [sys.executable, "manage.py", "health_check", "--service", role],
                cwd=handle.folder, env=handle.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
            for handle, role in pending
        ]
        pending = [(handle, role) for handle, role, check in checks if check.wait() != 0]
        if pending and time.monotonic() > deadline:
            names = ", ".join(f"{handle.prefix}-{role}" for handle, role in pending)
            raise StackFailed(
                f"not healthy after {START_TIMEOUT_SECONDS:.0f}s: {names} (their logs: {stack.log_dir}); log ({stack.log}):\n{_tail(stack.log)}"
            )
        if pending:
            time.sleep(1)


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v1/openapi.json", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to ``devstack run`` (it stops its processes and backing services), SIGKILL to what is left."""
    if process.poll() is not None:
        return
    print("bench: stopping the stack", file=sys.stderr)
    try:
        leftovers = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        leftovers = []
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for child in leftovers:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    stop_orphaned_postgres(OWN_STATE_DIR / "postgres")


def _lock_held(state_dir: Path) -> bool:
    import fcntl

    with (state_dir / "run.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def _lock_holder(lock: Path) -> int | None:
    for candidate in psutil.process_iter(["pid", "cmdline"]):
        if "common.devstack" not in " ".join(candidate.info["cmdline"] or []):
            continue
        try:
            if any(Path(f.path) == lock.resolve() for f in candidate.open_files()):
                return candidate.pid
        except psutil.Error:
            continue
    return None


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
