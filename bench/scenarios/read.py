"""Read: ``GET /users/{id}`` and ``GET /accounts/{id}`` (cached) against the same gunicorn serving a trivial view.

The baseline gunicorn is started with the command ``make run`` gives user_manager's API (same
workers, same settings but for the URLconf, same honcho in front of its output), on a port of its
own, and stopped after its measurement.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from bench.config import READ_MAX_P99_MS, READ_MIN_RATIO
from bench.model import Check, ScenarioResult, ratio
from bench.profiling import profiled
from bench.session import Bench
from bench.stack import ServiceHandle
from bench.tools import WrkResult, run_wrk
from common.devstack.services import free_port
from common.devstack.stack import processes

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
        bench.wait_until_quiet(f"read {name}")
        measured = _wrk(bench, handle.url, paths, handle, f"read-{short}", bench.parameters.duration)
        figures = measured.summary(200)
        figures["ratio"] = round(ratio(measured.rate(200), baseline.rate(200)), 3)
        figures["ids"] = len(paths)
        result.figures[name] = figures
        errors = measured.requests - measured.count(200) + measured.socket_errors
        result.checks.append(
            Check(
                metric=f"{name} req/s vs trivial view",
                value=f"{figures['ratio']:.0%} ({figures['per_second']:.0f} vs {baseline.rate(200):.0f} req/s), "
                f"p99 {figures['p99_ms']:.1f} ms, {errors} errors",
                target=f"≥ {READ_MIN_RATIO:.0%}, p99 < {READ_MAX_P99_MS:.0f} ms",
                met=figures["ratio"] >= READ_MIN_RATIO and figures["p99_ms"] < READ_MAX_P99_MS and errors == 0,
            )
        )
    return result


def profile(bench: Bench, result: ScenarioResult) -> None:
    """Every process of the stack (the API's gunicorn, and honcho relaying its access log) during a shorter run."""
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
    """user_manager's API command with the trivial URLconf, under honcho like ``make run``; yields its URL."""
    handle = bench.stack.user_manager
    port = free_port()
    service = dataclasses.replace(handle.service, prefix="bench-um", port_variable="BENCH_BASELINE_PORT", default_port=port)
    command = processes(service, bench.work_dir)[f"{service.prefix}-api"]
    procfile = bench.work_dir / "Procfile.baseline"
    procfile.write_text(f"bench-um-api: {command}\n")
    env = handle.env(DJANGO_SETTINGS_MODULE="bench.baseline.settings")
    env.pop("BENCH_BASELINE_PORT", None)
    with (bench.work_dir / "baseline.log").open("ab") as log:
        honcho = subprocess.Popen(  # nosec B603 # honcho from our venv running our own Procfile, no shell
            [str(Path(sys.executable).parent / "honcho"), "start", "--procfile", str(procfile), "--app-root", str(handle.folder)],
            cwd=handle.folder, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url + TRIVIAL_PATH, honcho)
        yield url
    finally:
        honcho.send_signal(signal.SIGTERM)
        try:
            honcho.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the baseline server exited with code {process.returncode} (see baseline.log)")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the baseline server did not answer {url} within {timeout:.0f}s")
