"""The load tools, run as subprocesses: wrk (HTTP), pgbench (the database baseline) and py-spy (profiles).

``make bench-tools`` installs them; :func:`check_tools` says clearly which one is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import LUA_DIR
from bench.model import percentile


class ToolMissing(RuntimeError):
    """A load tool is not installed; the message says how to get it."""


def check_tools() -> None:
    missing = [name for name, path in (("wrk", wrk_bin()), ("pgbench", pgbench_bin()), ("py-spy", py_spy_bin())) if not path]
    if missing:
        raise ToolMissing(
            f"missing: {', '.join(missing)}. `make bench-tools` installs them "
            "(wrk with apt-get, which needs root; py-spy from requirements/bench.txt; pgbench comes with pgserver)"
        )


def wrk_bin() -> str | None:
    return shutil.which("wrk")


def pgbench_bin() -> str | None:
    """pgserver's pgbench (the same PostgreSQL release as the embedded server), else one on PATH."""
    from pgserver._commands import POSTGRES_BIN_PATH

    bundled = Path(POSTGRES_BIN_PATH) / "pgbench"
    return str(bundled) if bundled.exists() else shutil.which("pgbench")


def py_spy_bin() -> str | None:
    beside_python = Path(sys.executable).parent / "py-spy"
    return str(beside_python) if beside_python.exists() else shutil.which("py-spy")


# --- wrk ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    """wrk's figures as ``lua/report.lua`` wrote them (latencies in microseconds)."""

    report: dict[str, Any]

    @property
    def duration_s(self) -> float:
        return self.report["duration_us"] / 1e6

    @property
    def requests(self) -> int:
        return int(self.report["requests"])

    @property
    def statuses(self) -> dict[str, int]:
        return {status: int(n) for status, n in sorted(self.report["statuses"].items())}

    def count(self, *statuses: int) -> int:
        return sum(n for status, n in self.statuses.items() if int(status) in statuses)

    @property
    def socket_errors(self) -> int:
        errors = self.report["errors"]
        return int(errors["connect"] + errors["read"] + errors["write"] + errors["timeout"])

    def rate(self, *statuses: int) -> float:
        """Responses per second with one of ``statuses`` (all responses when none is given)."""
        answered = self.count(*statuses) if statuses else self.requests
        return answered / self.duration_s if self.duration_s else 0.0

    def latency_ms(self, p: str) -> float:
        return self.report["latency_us"]["percentiles"][p] / 1000

    def summary(self, *ok: int) -> dict[str, Any]:
        return {
            "duration_s": round(self.duration_s, 2),
            "requests": self.requests,
            "per_second": round(self.rate(*ok), 1),
            "p50_ms": round(self.latency_ms("50"), 2),
            "p90_ms": round(self.latency_ms("90"), 2),
            "p99_ms": round(self.latency_ms("99"), 2),
            "max_ms": round(self.report["latency_us"]["max"] / 1000, 2),
            "statuses": self.statuses,
            "socket_errors": self.socket_errors,
        }


def run_wrk(
    *,
    script: str,
    url: str,
    duration: float,
    connections: int,
    threads: int,
    headers: dict[str, str],
    variables: dict[str, str],
    work_dir: Path,
    name: str,
    until_done: bool = False,
    rate: float | None = None,
) -> WrkResult:
    """Run ``lua/<script>`` against ``url``; ``variables`` reach the script as environment variables.

    ``until_done``: the script writes the file named by ``$BENCH_DONE`` when it has done its work; wrk
    is then interrupted (it reports as usual), so ``duration`` is only an upper bound.
    ``rate``: requests a second, all threads together, at a steady pace (``lua/pace.lua``, which the
    script loads); none: as fast as the answers come.
    """
    if rate is not None:
        variables = {**variables, "BENCH_RATE_PER_THREAD": f"{rate / threads:.3f}"}
    report = work_dir / f"{name}.wrk.json"
    done = work_dir / f"{name}.done"
    for stale in (report, done):
        stale.unlink(missing_ok=True)
    command = [wrk_bin() or "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:.0f}s",
               "--timeout", "10s", "-s", str(LUA_DIR / script)]  # fmt: skip
    for header, value in headers.items():
        command += ["-H", f"{header}: {value}"]
    command.append(url)
    env = {**os.environ, **variables, "BENCH_LUA_DIR": str(LUA_DIR), "BENCH_REPORT": str(report), "BENCH_DONE": str(done)}
    with (work_dir / f"{name}.wrk.txt").open("w") as output:
        wrk = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)  # nosec B603 # wrk with the bench's own arguments, no shell
        deadline = time.monotonic() + duration + 120
        while wrk.poll() is None and time.monotonic() < deadline:
            if until_done and done.exists():
                wrk.send_signal(signal.SIGINT)  # wrk stops its threads, reports and runs done()
                break
            time.sleep(0.02)
        try:
            wrk.wait(timeout=max(deadline - time.monotonic(), 30))
        except subprocess.TimeoutExpired:
            wrk.kill()
            wrk.wait()
    if wrk.returncode != 0 or not report.exists():
        log = (work_dir / f"{name}.wrk.txt").read_text()
        raise RuntimeError(f"wrk {name} failed (exit {wrk.returncode}): {log.strip()[-1000:]}")
    return WrkResult(json.loads(report.read_text()))


# --- pgbench -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgbenchResult:
    transactions: int
    failed: int
    tps: float
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    def summary(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "transactions": self.transactions,
            "failed": self.failed,
            "per_second": round(self.tps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
        }


def run_pgbench(
    *, database_url: str, script: Path, duration: int, clients: int, threads: int, variables: dict[str, str], work_dir: Path, name: str
) -> PgbenchResult:
    """Run a custom pgbench script; latency percentiles come from its per-transaction log."""
    prefix = work_dir / f"{name}.pgbench"
    for old in work_dir.glob(f"{prefix.name}.*"):
        old.unlink()
    command = [pgbench_bin() or "pgbench", "--no-vacuum", "--client", str(clients), "--jobs", str(threads),
               "--time", str(duration), "--file", str(script), "--log", "--log-prefix", str(prefix)]  # fmt: skip
    for variable, value in variables.items():
        command += ["--define", f"{variable}={value}"]
    command.append(database_url)  # a URI: pgbench expands it like any libpq dbname
    finished = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)  # nosec B603 # pgbench, the bench's own arguments, no shell
    (work_dir / f"{name}.pgbench.txt").write_text(finished.stdout + finished.stderr)
    if finished.returncode != 0:
        raise RuntimeError(f"pgbench {name} failed (exit {finished.returncode}): {finished.stderr.strip()[-1000:]}")
    latencies_ms = [int(line.split()[2]) / 1000 for log in work_dir.glob(f"{prefix.name}.*[0-9]") for line in log.read_text().splitlines() if line]
    return PgbenchResult(
        transactions=int(_match(r"number of transactions actually processed: (\d+)", finished.stdout)),
        failed=int(_match(r"number of failed transactions: (\d+)", finished.stdout, default="0")),
        tps=float(_match(r"tps = ([0-9.]+)", finished.stdout)),
        duration_s=float(duration),
        p50_ms=percentile(latencies_ms, 50),
        p90_ms=percentile(latencies_ms, 90),
        p99_ms=percentile(latencies_ms, 99),
        max_ms=max(latencies_ms, default=0.0),
    )


def _match(pattern: str, text: str, default: str | None = None) -> str:
    found = re.search(pattern, text)
    if found:
        return found.group(1)
    if default is None:
        raise RuntimeError(f"pgbench output without {pattern!r}:\n{text[-1000:]}")
    return default


# --- py-spy -------------------------------------------------------------------------------------


def start_profile(pid: int, output: Path, *, subprocesses: bool = True) -> subprocess.Popen[bytes]:
    """Sample ``pid`` (and its children) until :func:`stop_profile`; folded stacks go to ``output``.

    ``--nonblocking`` does not pause the process to sample it: the profile costs the process little.
    """
    command = [py_spy_bin() or "py-spy", "record", "--pid", str(pid), "--format", "raw", "--output", str(output),
               "--nonblocking", "--rate", "100", "--full-filenames"]  # fmt: skip
    if subprocesses:
        command.append("--subprocesses")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # nosec B603 # py-spy on our own process, no shell


def stop_profile(recorder: subprocess.Popen[bytes]) -> str:
    """Stop the recording (py-spy writes its file on SIGINT); returns py-spy's closing message."""
    recorder.send_signal(signal.SIGINT)
    try:
        _, stderr = recorder.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        recorder.kill()
        _, stderr = recorder.communicate()
    return (stderr or b"").decode(errors="replace").strip()


# --- versions -----------------------------------------------------------------------------------


def tool_versions() -> dict[str, str]:
    versions = {}
    for name, path, flag in (("wrk", wrk_bin(), "-v"), ("pgbench", pgbench_bin(), "--version"), ("py-spy", py_spy_bin(), "--version")):
        if path:
            shown = subprocess.run([path, flag], capture_output=True, text=True)  # nosec B603 # a tool's --version; wrk prints it to stderr
            number = re.search(r"\d+\.\d+[\w.+~-]*", shown.stdout + shown.stderr)
            versions[name] = number.group(0) if number else "?"
    return versions
