"""The two services of the local stack: their environment, setup commands and processes."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import processes as process_commands
from .paths import REPO_ROOT
from .services import BackingServices


def bind_host() -> str:
    """Where the APIs listen (``DEVSTACK_BIND_HOST``, default 127.0.0.1); the printed URLs use it too."""
    return os.environ.get("DEVSTACK_BIND_HOST") or "127.0.0.1"


class StackError(RuntimeError):
    """The local stack cannot do what was asked; the message says why and what to do."""


@dataclass(frozen=True)
class Service:
    """One Django project of the platform and what the stack gives it."""

    name: str
    """The project folder and Python package, e.g. ``user_manager``."""
    prefix: str
    """Short process-name prefix, e.g. ``um`` for ``um-api``."""
    port_variable: str
    default_port: int
    cache_db: int
    celery_db: int

    @property
    def folder(self) -> Path:
        return REPO_ROOT / self.name

    @property
    def port(self) -> int:
        return int(os.environ.get(self.port_variable) or self.default_port)

    @property
    def url(self) -> str:
        return f"http://{bind_host()}:{self.port}"


SERVICES: tuple[Service, ...] = (
    Service("user_manager", "um", "USER_MANAGER_PORT", 8001, cache_db=0, celery_db=1),
    Service("credit_manager", "cm", "CREDIT_MANAGER_PORT", 8002, cache_db=2, celery_db=3),
)


def service_named(name: str) -> Service:
    for service in SERVICES:
        if service.name == name:
            return service
    raise StackError(f"unknown service {name!r}; one of: {', '.join(s.name for s in SERVICES)}")


def service_env(service: Service, backing: BackingServices) -> dict[str, str]:
    """The variables the service's settings read (the contract documented in the package docstring)."""
    return {
        "DJANGO_SETTINGS_MODULE": f"{service.name}.settings",
        "DATABASE_URL": backing.database_url(service.name),
        "CACHE_URL": f"{backing.redis_url}/{service.cache_db}",
        "CELERY_BROKER_URL": f"{backing.redis_url}/{service.celery_db}",
        "KAFKA_BOOTSTRAP_SERVERS": backing.kafka_bootstrap_servers,
        # Local stack only: a fixed key keeps admin sessions valid across restarts.
        "DJANGO_SECRET_KEY": f"devstack-insecure-{service.name}-secret-key-never-use-in-production",
        "DJANGO_DEBUG": "false",
        # Not production: the fixed key is accepted, plain HTTP is served and `ensure_dev_admin` may create admin/admin.
        "DJANGO_ENVIRONMENT": "local",
        # Each back office links to the other where this stack serves it.
        **{f"{other.name.upper()}_ADMIN_URL": f"{other.url}/admin/" for other in SERVICES if other is not service},
    }


def process_env(variables: dict[str, str]) -> dict[str, str]:
    """The full environment of a service process: ours, the service's variables, and this venv first on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        **variables,
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", os.defpath)]),
        "PYTHONUNBUFFERED": "1",  # output reaches the terminal as it happens
    }


def manage(service: Service, *arguments: str, env: dict[str, str]) -> int:
    """Run ``python manage.py ARGUMENTS`` in the service's folder; returns its exit code."""
    command = [sys.executable, "manage.py", *arguments]
    print(f"devstack: {service.name}: {shlex.join(['manage.py', *arguments])}", file=sys.stderr)
    return subprocess.run(command, cwd=service.folder, env=process_env(env)).returncode  # nosec B603 # our manage.py, no shell


def manage_or_fail(service: Service, *arguments: str, env: dict[str, str]) -> None:
    returncode = manage(service, *arguments, env=env)
    if returncode != 0:
        raise StackError(f"{service.name}: `manage.py {' '.join(arguments)}` failed with exit code {returncode}")


def set_up(service: Service, env: dict[str, str]) -> None:
    """Bring the service's database, static files, dev admin and Kafka topics up to date."""
    for arguments in (
        ("migrate", "--noinput"),
        ("collectstatic", "--noinput"),
        ("ensure_dev_admin",),
        ("ensure_topics",),
    ):
        manage_or_fail(service, *arguments, env=env)


def processes(service: Service, state_dir: Path, *, access_log: bool = True) -> dict[str, str]:
    """The long-running processes of a service, by name, as shell commands run in its folder.

    ``access_log``: the API logs every request to its output (``make run``); production does not.

    ``DEVSTACK_KAFKA_WORKERS`` and ``DEVSTACK_QUEUE_WORKERS`` (default 1 each) start more of each kind,
    to run the platform scaled out: the consumers share one group, the queue workers one queue (beat
    runs in the first only). ``WEB_CONCURRENCY`` and ``CELERY_CONCURRENCY`` size the API and the workers.
    """
    commands = {
        f"{service.prefix}-api": process_commands.api(
            service.name,
            bind=f"{bind_host()}:{service.port}",
            workers=os.environ.get("WEB_CONCURRENCY") or process_commands.DEFAULT_WEB_WORKERS,
            access_log=access_log,
        ),
    }
    for n in range(1, _count("DEVSTACK_KAFKA_WORKERS") + 1):
        commands[_numbered(f"{service.prefix}-kafka", n)] = process_commands.kafka_worker()
    commands[f"{service.prefix}-relay"] = process_commands.relay()
    for n in range(1, _count("DEVSTACK_QUEUE_WORKERS") + 1):
        commands[_numbered(f"{service.prefix}-queue", n)] = process_commands.queue_worker(
            service.name,
            concurrency=os.environ.get("CELERY_CONCURRENCY") or process_commands.DEFAULT_CELERY_CONCURRENCY,
            node_name=f"{_numbered(service.prefix, n)}@%h",
            beat_schedule=str(state_dir / f"{service.prefix}-celerybeat-schedule") if n == 1 else None,
        )
    return {name: shlex.join(argv) for name, argv in commands.items()}


def _count(variable: str) -> int:
    value = os.environ.get(variable) or "1"
    if not value.isdigit() or int(value) < 1:
        raise StackError(f"{variable} must be a whole number of processes, at least 1 (got {value!r})")
    return int(value)


def _numbered(name: str, n: int) -> str:
    return name if n == 1 else f"{name}-{n}"


def write_env_file(path: Path, variables: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{key}={value}\n" for key, value in variables.items()))


def read_env_file(path: Path) -> dict[str, str]:
    variables: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            variables[key.strip()] = value
    return variables
