"""Soak (``make bench SOAK=1``): a steady mixed load for ``SOAK_MINUTES`` (default 10) while every
process's RSS is sampled every half second; does any process keep growing?

The load, each part paced by wrk at a constant rate (``lua/pace.lua``), all at once: purchases spread
over the accounts, cached reads of customers and of accounts, and new customers (each followed to its
credit summary, as the pipeline does, so none may be lost). The rates are modest (``RATES``): a small
share of what the stack can do, so the soak measures what the processes keep, not a saturated machine.

A process's growth is its peak RSS in the soak's last minute against its peak in the first, for every
process alive in both. Postgres processes are measured by their private memory (RSS less its shared
part): a backend's RSS grows as it touches more of the shared buffers, which are allocated once, at
start, and do not grow. Left out of the check, and said so in the notes: processes under
``SOAK_MIN_MB`` (Redis, Postgres's processes by their private memory: a few hundred KB more would be a
large share of nothing), and the embedded Kafka broker, which keeps every event in memory by design
(it is the local stand-in for Kafka, which keeps them on disk).
"""

from __future__ import annotations

import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.config import SOAK_MAX_GROWTH, SOAK_MIN_MB, STEADY_MIN_ACHIEVED, TARGET_BY_KEY
from bench.cpu import cpu_usage
from bench.memory import MB, Tracked
from bench.model import Check, ScenarioResult, ratio, steady
from bench.scenarios.pipeline import create_and_follow
from bench.scenarios.read import _targets as read_targets
from bench.scenarios.read import _warm_up
from bench.scenarios.write import _accounts
from bench.session import Bench
from bench.tools import WrkResult, run_wrk

RATES = {"purchases": 10.0, "reads of customers": 20.0, "reads of accounts": 20.0, "new customers": 2.0}
"""Requests a second of each part of the load."""
CONNECTIONS = 1
"""Connections of each part's wrk (one thread each): two parts a service, so no more paced connections than
an API has workers (see :meth:`bench.session.Bench.load_shape`); one is enough for these rates."""
MINUTE = 60.0


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult("soak")
    seconds = bench.parameters.soak_minutes * MINUTE
    accounts = _accounts(bench)
    reads = read_targets(bench)
    for _, handle, paths in reads.values():
        _warm_up(handle, paths)
    accounts_file = bench.work_dir / "soak.accounts"
    accounts_file.write_text("\n".join(accounts) + "\n")
    bench.wait_until_quiet("soak")
    um, cm = bench.stack.user_manager, bench.stack.credit_manager

    def paced(part: str, script: str, handle: Any, variables: dict[str, str]) -> WrkResult:
        return run_wrk(script=script, url=handle.url, duration=seconds, connections=CONNECTIONS, threads=1, headers=handle.headers(),
                       variables=variables, work_dir=bench.work_dir, name=f"soak-{part.replace(' ', '-')}", rate=RATES[part])  # fmt: skip

    paths = {}
    for short, _, read_paths in reads.values():
        paths[short] = bench.work_dir / f"soak-{short}.paths"
        paths[short].write_text("\n".join(read_paths) + "\n")
    print(f"bench: soak: {bench.parameters.soak_minutes} min of {', '.join(f'{rate:g}/s {part}' for part, rate in RATES.items())}",
          file=sys.stderr)  # fmt: skip
    with bench.memory.during("soak"), bench.memory.recording(), cpu_usage(bench.memory) as cpu, ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        customers = pool.submit(
            create_and_follow,
            bench,
            round(RATES["new customers"] * seconds),
            name="soak-customers",
            rate=RATES["new customers"],
            connections=CONNECTIONS,
        )
        loads = {
            "purchases": pool.submit(paced, "purchases", "purchase.lua", cm, {
                "BENCH_ACCOUNTS": str(accounts_file), "BENCH_RUN": f"{bench.run_id}-soak", "BENCH_AMOUNT": bench.parameters.purchase_amount,
                "BENCH_REFERENCE": f"bench-{bench.run_id}-soak"}),
            "reads of customers": pool.submit(paced, "reads of customers", "read.lua", um, {"BENCH_PATHS": str(paths["users"])}),
            "reads of accounts": pool.submit(paced, "reads of accounts", "read.lua", cm, {"BENCH_PATHS": str(paths["accounts"])}),
        }  # fmt: skip
        answered = {part: future.result() for part, future in loads.items()}
        ended = time.monotonic()  # the paced load's end; the last customers are followed to their summary after it
        outcome = customers.result()
    ok = {"purchases": 201, "reads of customers": 200, "reads of accounts": 200}
    parts = {part: steady(run.summary(ok[part]), RATES[part]) for part, run in answered.items()}
    parts["new customers"] = {**steady(outcome.api, RATES["new customers"]), "end to end": outcome.figures()["end to end"]}
    errors = {part: run.requests - run.count(ok[part]) + run.socket_errors for part, run in answered.items()}
    growth = _growth(bench.memory.tracked.values(), started, ended)
    judged = [row for row in growth if row["judged"]]
    worst = max(judged, key=lambda row: row["growth"], default=None)
    over = [row for row in judged if row["growth"] >= SOAK_MAX_GROWTH]
    result.figures.update({
        "minutes": bench.parameters.soak_minutes,
        "seconds": round(ended - started, 1),
        "load": parts,
        "errors": errors,
        "customers": {"requested": outcome.requested, "created": outcome.created, "completed": outcome.completed,
                      "lost": outcome.lost, "duplicated": outcome.duplicated},
        "cpu": cpu,
        "growth": growth,
    })  # fmt: skip
    result.notes += outcome.notes
    left_out: dict[str, list[str]] = {}
    for row in growth:
        if not row["judged"]:
            left_out.setdefault(row["left out"], []).append(re.sub(r" \d+$", "", row["process"]))
    for why, processes in left_out.items():
        result.notes.append(f"left out of the growth check ({why}): {', '.join(sorted(set(processes)))}")
    result.checks += [
        Check(
            key="soak growth",
            metric=TARGET_BY_KEY["soak growth"].figure,
            value=(
                f"largest {worst['growth']:+.1%}: {worst['process']} ({worst['first_mb']:.0f} → {worst['last_mb']:.0f} MB"
                f"{', private memory' if worst['measure'] == 'private' else ''}); {len(judged)} processes ≥ {SOAK_MIN_MB:.0f} MB "
                f"over {bench.parameters.soak_minutes} min"
                + (f"; ≥ {SOAK_MAX_GROWTH:.0%}: {', '.join(r['process'] for r in over)}" if over else "")
            )
            if worst
            else "not measured: no process alive in the first and the last minute",
            target=TARGET_BY_KEY["soak growth"].target,
            met=(not over) if worst else None,
        ),  # fmt: skip
        Check(
            metric="soak: errors, customers lost or duplicated, rates kept",
            value=f"errors: {', '.join(f'{n} {part}' for part, n in errors.items())}; customers: {outcome.created:,} created, "
            f"{outcome.lost} lost, {outcome.duplicated} duplicated; achieved "
            + ", ".join(f"{f['achieved']:.0%} of {part}" for part, f in parts.items()),
            target=f"no error, none lost, ≥ {STEADY_MIN_ACHIEVED:.0%} of each rate",
            met=not any(errors.values())
            and outcome.faults == 0
            and all(f["achieved"] >= STEADY_MIN_ACHIEVED for f in parts.values()),
        ),
    ]
    return result


def _growth(tracked: Any, started: float, ended: float) -> list[dict[str, Any]]:
    """Each process's peak in the first minute and in the last, and its growth, largest first."""
    rows = []
    for process in tracked:
        first = _window(process, started, started + MINUTE)
        last = _window(process, ended - MINUTE, ended)
        if first is None or last is None:
            continue  # not alive in one of them
        private = process.label.startswith("postgres")
        first_bytes, last_bytes = (first[1], last[1]) if private else (first[0], last[0])
        if process.label.startswith("kafka"):
            left_out = "the embedded broker keeps every event in memory"
        elif max(first_bytes, last_bytes) / MB < SOAK_MIN_MB:
            left_out = f"under {SOAK_MIN_MB:.0f} MB"
        else:
            left_out = None
        rows.append({
            "process": process.label,
            "pid": process.pid,
            "measure": "private" if private else "rss",
            "first_mb": round(first_bytes / MB, 1),
            "last_mb": round(last_bytes / MB, 1),
            "first_rss_mb": round(first[0] / MB, 1),
            "last_rss_mb": round(last[0] / MB, 1),
            "growth": round(ratio(last_bytes - first_bytes, first_bytes), 4),
            "judged": left_out is None,
            "left out": left_out,
        })  # fmt: skip
    return sorted(rows, key=lambda row: -row["growth"])


def _window(process: Tracked, start: float, end: float) -> tuple[int, int] | None:
    """Peak RSS and peak private memory (RSS less its shared part) of the samples taken in [start, end)."""
    samples = [(rss, shared) for at, rss, shared in process.series if start <= at < end]
    if not samples:
        return None
    return max(rss for rss, _ in samples), max(rss - shared for rss, shared in samples)
