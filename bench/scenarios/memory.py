"""Memory: the peak RSS of every process of the stack, at rest, during the pipeline and the soak (and over
the whole run), from :class:`bench.memory.MemorySampler`, which samples every half second."""

from __future__ import annotations

import time

from bench.config import MEMORY_MAX_MB, TARGET_BY_KEY
from bench.model import Check, ScenarioResult
from bench.session import Bench

REST_SECONDS = 5.0


def measure_rest(bench: Bench) -> None:
    """Sample the idle stack (after start-up and the first requests) for a few seconds."""
    bench.wait_until_quiet("memory at rest")
    with bench.memory.during("rest"):
        time.sleep(REST_SECONDS)


def result(bench: Bench) -> ScenarioResult:
    rows = bench.memory.rows()
    outcome = ScenarioResult("memory", figures={"processes": rows})
    peak = max(rows, key=lambda row: row.get("run_mb", 0), default=None)
    if peak is None:
        outcome.error = "no process of the stack was sampled"
        return outcome
    over = [row["process"] for row in rows if row.get("run_mb", 0) > MEMORY_MAX_MB]
    outcome.checks.append(
        Check(
            key="peak rss",
            metric=TARGET_BY_KEY["peak rss"].figure,
            value=f"{peak['run_mb']:.0f} MB ({peak['process']})" + (f"; above: {', '.join(over)}" if over else ""),
            target=TARGET_BY_KEY["peak rss"].target,
            met=not over,
        )
    )
    return outcome
