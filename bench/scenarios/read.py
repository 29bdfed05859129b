"""Read: ``GET /users/{id}`` and ``GET /accounts/{id}`` (cached) against the same API server serving a trivial view.

The baseline server is started the way the bench's stack starts user_manager's API (the same
command line, workers and settings but for the URLconf, its output in a file of its own and no access
log: ``DEVSTACK_LOG_DIR``; with an access log if the API of a running stack writes one), on a port of
its own, and stopped after its measurement.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests

from bench.config import READ_MIN_RATIO, TARGET_BY_KEY
from bench.model import Check, ScenarioResult, ratio
from bench.profiling import profiled
from bench.session import Bench
from bench.stack import ServiceHandle
from bench.tools import WrkResult, run_wrk
from common.devstack.services import free_port
from common.devstack.stack import processes
from common.devstack.supervisor import log_file, start_logged, stop_all

SAMPLE = 200  # different ids read in turn (all cached before the run)
TRIVIAL_PATH = "/bench/trivial"


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult("read")
    targets = _targets(bench)
    for _, handle, paths in targets.values():
        _warm_up(handle, paths)
    bench.wait_until_quiet("read baseline")
    with baseline_server(bench) as url:
        baseline = _wrk(bench, url, [TRIVIAL_PATH], bench.stack.user_manager, "read-baseline", bench.parameters.duration)
    result.figures["baseline (trivial view)"] = baseline.summary(200)
    for name, (short, handle, paths) in targets.items():
        target = TARGET_BY_KEY[f"read {'customer' if short == 'users' else 'account'}"]
        bench.wait_until_quiet(f"read {name}")
        measured = _wrk(bench, handle.url, paths, handle, f"read-{short}", bench.parameters.duration)
        figures = measured.summary(200)
        figures["ratio"] = round(ratio(measured.rate(200), baseline.rate(200)), 3)
        figures["ids"] = len(paths)
        result.figures[name] = figures
        errors = measured.requests - measured.count(200) + measured.socket_errors
        result.checks.append(
            Check(
                key=target.key,
                metric=target.figure,
                value=f"{figures['ratio']:.0%} ({figures['per_second']:.0f} vs {baseline.rate(200):.0f} req/s), "
                f"p99 {figures['p99_ms']:.1f} ms, {errors} errors",
                target=f"{target.target}, no error",
                met=figures["ratio"] >= READ_MIN_RATIO and errors == 0,
            )
        )
    return result


def profile(bench: Bench, result: ScenarioResult) -> None:
    """Every process of the stack (the API above all) during a shorter run."""
    seconds = min(bench.parameters.duration, 10)
    for name, (short, handle, paths) in _targets(bench).items():
        bench.wait_until_quiet(f"profile of {name}")
        label = f"read-{short}"
        with profiled(bench.stack.root_pid, label=bench.memory.label_of, stamp=bench.stamp, name=label, into=result.profiles):
            _wrk(bench, handle.url, paths, handle, f"{label}-profiled", seconds)


def _targets(bench: Bench) -> dict[str, tuple[str, ServiceHandle, list[str]]]:
    um, cm = bench.stack.user_manager, bench.stack.credit_manager
    users = [f"/api/v1/users/{row[0]}" for row in um.query("SELECT id FROM users_customer ORDER BY created_at LIMIT %s", [SAMPLE])]
    accounts = [
        f"/api/v1/accounts/{row[0]}"
        for row in cm.query("SELECT id FROM accounts_creditaccount ORDER BY opened_at LIMIT %s", [SAMPLE])
    ]
    if not users or not accounts:
        raise RuntimeError("no customers or accounts to read (the pipeline scenario creates them)")
    return {"GET /users/{id}": ("users", um, users), "GET /accounts/{id}": ("accounts", cm, accounts)}


def _warm_up(handle: ServiceHandle, paths: list[str]) -> None:
    """Read every id once, so the measured reads are all cache hits."""
    with requests.Session() as session:
        for path in paths:
            response = session.get(handle.url + path, headers=handle.headers(), timeout=10)
            response.raise_for_status()


def _wrk(bench: Bench, url: str, paths: list[str], handle: ServiceHandle, name: str, duration: int) -> WrkResult:
    paths_file = bench.work_dir / f"{name}.paths"
    paths_file.write_text("\n".join(paths) + "\n")
    return run_wrk(
        script="read.lua",
        url=url,
        duration=duration,
        connections=bench.parameters.concurrency,
        threads=bench.parameters.threads,
        headers=handle.headers(),
        variables={"BENCH_PATHS": str(paths_file)},
        work_dir=bench.work_dir,
        name=name,
    )


@contextmanager
def baseline_server(bench: Bench) -> Iterator[str]:
    """user_manager's API command with the trivial URLconf, started as the stack starts its processes
    (its output in ``<logs>/bench-um-api.log``, no access log); yields its URL."""
    handle = bench.stack.user_manager
    port = free_port()
    service = dataclasses.replace(handle.service, prefix="bench-um", port_variable="BENCH_BASELINE_PORT", default_port=port)
    name = f"{service.prefix}-api"
    command = processes(service, bench.work_dir, access_log=_writes_access_log(bench))[name]
    env = handle.env(DJANGO_SETTINGS_MODULE="bench.baseline.settings")
    env.pop("BENCH_BASELINE_PORT", None)
    server = start_logged(name, command, env=env, cwd=handle.folder, log_dir=bench.stack.log_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url + TRIVIAL_PATH, server, log_file(bench.stack.log_dir, name))
        yield url
    finally:
        stop_all({name: server}, timeout=30)


def _writes_access_log(bench: Bench) -> bool:
    """Whether the stack's user_manager API writes an access log: never on the bench's own stack (as in
    production); on a running one (``STACK=running``), as ``make run`` started it."""
    pid = bench.stack.main_process(bench.stack.user_manager, "granian")
    try:
        return pid is not None and "--access-log" in psutil.Process(pid).cmdline()
    except psutil.Error:
        return False


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the baseline server exited with code {process.returncode} (see {log})")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the baseline server did not answer {url} within {timeout:.0f}s")
