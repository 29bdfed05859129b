"""What a run measures and what it is held to: the parameters (overridable) and the targets."""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
LUA_DIR = BENCH_DIR / "lua"


SCENARIO_NAMES = ("pipeline", "read", "write", "authorization", "consumer", "soak", "growth")
DEFAULT_SCENARIOS = ("pipeline", "read", "write", "authorization", "consumer")
"""What ``make bench`` runs; the soak (``SOAK=1``) and the cost growth (``GROWTH=1``) take long and run only when asked."""


@dataclass(frozen=True)
class Parameters:
    duration: int = 20
    """Seconds of each timed HTTP or pgbench run."""
    concurrency: int = 16
    """Connections (wrk) or clients (pgbench) kept busy at once."""
    customers: int = 2000
    """Customers the pipeline scenario creates."""
    events: int = 50_000
    """Events pre-produced for the consumer scenario."""
    threads: int = 2
    """Load-generator threads (wrk -t, pgbench -j): one per core of a 2-core machine."""
    purchase_amount: str = "0.01"
    """Small enough that no account runs out of credit during a run."""
    profile: str = "missed"
    """Which scenarios get a py-spy pass: ``missed`` (those that missed a target), ``all`` or ``none``."""
    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
    """The scenarios to run (the pipeline always, when read, write, authorization or soak runs: it makes their customers)."""
    stack: str = "own"
    """``own``: start a throw-away stack; ``running``: use the one ``make run`` started."""
    soak_minutes: int = 10
    """Length of the soak (``SOAK=1``): a steady mixed load, every process's RSS sampled."""
    growth_customers: int = 20_000
    """Customers in the system for the second measurement of the cost growth (``GROWTH=1``)."""
    quick: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


QUICK = {"duration": 5, "customers": 300, "events": 5_000}


def parse_parameters(argv: list[str]) -> Parameters:
    """Command-line options, defaulting to the variables ``make bench`` passes (DURATION, QUICK, ...)."""
    env = os.environ
    quick = _flag(env.get("QUICK"))
    base = {**asdict(Parameters()), **(QUICK if quick else {})}
    parser = argparse.ArgumentParser(prog="python -m bench", description="Benchmark the platform (see bench/README.md).")
    parser.add_argument("--duration", type=int, default=int(env.get("DURATION") or base["duration"]))
    parser.add_argument("--concurrency", type=int, default=int(env.get("CONCURRENCY") or base["concurrency"]))
    parser.add_argument("--customers", type=int, default=int(env.get("CUSTOMERS") or base["customers"]))
    parser.add_argument("--events", type=int, default=int(env.get("EVENTS") or base["events"]))
    parser.add_argument("--threads", type=int, default=int(env.get("THREADS") or base["threads"]))
    parser.add_argument("--profile", choices=["missed", "all", "none"], default=_profile_choice(env.get("PROFILE")))
    parser.add_argument("--scenarios", default=env.get("SCENARIOS") or ",".join(DEFAULT_SCENARIOS))
    parser.add_argument("--stack", choices=["own", "running"], default=env.get("STACK") or "own")
    parser.add_argument("--soak", action="store_true", default=_flag(env.get("SOAK")), help="also run the soak (SOAK=1)")
    parser.add_argument("--soak-minutes", type=int, default=int(env.get("SOAK_MINUTES") or base["soak_minutes"]))
    parser.add_argument("--growth", action="store_true", default=_flag(env.get("GROWTH")), help="also measure the cost growth (GROWTH=1)")
    parser.add_argument("--growth-customers", type=int, default=int(env.get("GROWTH_CUSTOMERS") or base["growth_customers"]))
    arguments = parser.parse_args(argv)
    extra = ("soak",) * arguments.soak + ("growth",) * arguments.growth
    parameters = Parameters(
        duration=arguments.duration,
        concurrency=arguments.concurrency,
        customers=arguments.customers,
        events=arguments.events,
        threads=arguments.threads,
        profile=arguments.profile,
        scenarios=_scenarios(parser, ",".join((arguments.scenarios, *extra))),
        stack=arguments.stack,
        soak_minutes=arguments.soak_minutes,
        growth_customers=arguments.growth_customers,
        quick=quick,
    )
    if min(parameters.duration, parameters.concurrency, parameters.customers, parameters.events, parameters.threads) < 1:
        parser.error("DURATION, CONCURRENCY, CUSTOMERS, EVENTS and THREADS must be at least 1")
    if parameters.concurrency < parameters.threads:
        parser.error("CONCURRENCY must be at least THREADS (each load thread needs a connection)")
    if parameters.soak_minutes < 2:
        parser.error("SOAK_MINUTES must be at least 2 (the soak compares its first minute with its last)")
    if parameters.growth_customers < 1:
        parser.error("GROWTH_CUSTOMERS must be at least 1")
    if "growth" in parameters.scenarios and parameters.stack != "own":
        parser.error("GROWTH needs an empty system: it runs on a fresh stack of its own, not with STACK=running")
    return parameters


def _profile_choice(value: str | None) -> str:
    """``PROFILE=1``: every scenario; ``PROFILE=0``: none; unset: those that missed a target."""
    if value is None or value.strip() == "":
        return "missed"
    return "all" if _flag(value) else "none"


def _scenarios(parser: argparse.ArgumentParser, value: str) -> tuple[str, ...]:
    chosen = {name.strip() for name in value.split(",") if name.strip()}
    unknown = chosen - set(SCENARIO_NAMES)
    if unknown or not chosen:
        parser.error(f"SCENARIOS: choose among {', '.join(SCENARIO_NAMES)}")
    if chosen & {"read", "write", "authorization", "soak"}:
        chosen.add("pipeline")
    return tuple(name for name in SCENARIO_NAMES if name in chosen)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


# The targets of issue 11. Every ratio divides a figure by a baseline measured in the same run: pgbench's is
# the write scenario's "pgbench spread" run, which does a purchase's database work.
PURCHASE_MIN_RATIO = 0.12
"""Purchases spread over the accounts: tx/s ≥ 12% of pgbench spread's."""
PURCHASE_MAX_CPU_RATIO = 8.0
"""CPU per purchase, all processes (the machine's busy time), ≤ 8× pgbench's CPU per transaction."""
PURCHASE_STEADY_RATE = 50.0
"""Purchases a second asked for in the steady run."""
PURCHASE_STEADY_MAX_P99_MS = 50.0
PIPELINE_MIN_RATIO = 0.08
"""Customers/s end to end (the burst run) ≥ 8% of pgbench spread's tx/s."""
PIPELINE_MAX_CPU_RATIO = 12.0
"""CPU per new customer, all processes (the burst run), ≤ 12× pgbench's CPU per transaction."""
PIPELINE_STEADY_SHARE = 0.25
"""The steady intake: a quarter of the burst run's customers/s end to end."""
PIPELINE_STEADY_MAX_P99_S = 1.0
READ_MIN_RATIO = 0.65
"""Cached reads (a customer, an account) ≥ 65% of the trivial view's req/s, each."""
CONSUMER_MIN_RATIO = 0.7
MEMORY_MAX_MB = 250.0
SOAK_MAX_GROWTH = 0.10
"""RSS growth of every process between the soak's first minute and its last: < 10%."""
SOAK_MIN_MB = 20.0
"""Processes smaller than this (shells, Postgres helpers) are left out of the growth check: a few MB more is noise."""
GROWTH_MAX_RATIO = 1.2
"""CPU per new customer with GROWTH_CUSTOMERS customers in the system ≤ 1.2× that on the empty system."""
AUTHORIZATION_MIN_RATIO = PURCHASE_MIN_RATIO  # an approval does a purchase's kind of work: the purchases' targets
AUTHORIZATION_MAX_CPU_RATIO = PURCHASE_MAX_CPU_RATIO
AUTHORIZATION_STEADY_MAX_P99_MS = PURCHASE_STEADY_MAX_P99_MS
STEADY_MIN_ACHIEVED = 0.9
"""A steady run's p99 counts only if the stack kept up with at least this share of the rate asked."""


@dataclass(frozen=True)
class Target:
    key: str
    scenario: str
    figure: str
    target: str


# The table, in its order: the report lists every one of these, measured or not.
TARGETS = (
    Target("purchase cpu", "write", "CPU per purchase, all processes, ÷ pgbench's CPU per transaction", f"≤ {PURCHASE_MAX_CPU_RATIO:.0f}×"),
    Target("purchase rate", "write", "purchases spread, tx/s ÷ pgbench spread tx/s", f"≥ {PURCHASE_MIN_RATIO:.0%}"),
    Target("customer cpu", "pipeline", "CPU per new customer, all processes (pipeline), ÷ pgbench's CPU per transaction",
           f"≤ {PIPELINE_MAX_CPU_RATIO:.0f}×"),  # fmt: skip
    Target("pipeline rate", "pipeline", "pipeline customers/s end to end ÷ pgbench tx/s", f"≥ {PIPELINE_MIN_RATIO:.0%}"),
    Target("pipeline steady p99", "pipeline", "pipeline latency at a steady intake of a quarter of its capacity, p99 end to end",
           f"≤ {PIPELINE_STEADY_MAX_P99_S:.0f} s"),  # fmt: skip
    Target("purchase steady p99", "write", f"purchase latency at a steady {PURCHASE_STEADY_RATE:.0f}/s, p99",
           f"≤ {PURCHASE_STEADY_MAX_P99_MS:.0f} ms, ≥ {STEADY_MIN_ACHIEVED:.0%} of the rate asked"),  # fmt: skip
    Target("read customer", "read", "reads: cached customer (GET /users/{id}) ÷ trivial view", f"≥ {READ_MIN_RATIO:.0%}"),
    Target("read account", "read", "reads: cached account (GET /accounts/{id}) ÷ trivial view", f"≥ {READ_MIN_RATIO:.0%}"),
    Target("consumer", "consumer", "consume_kafka ÷ raw kafka-python", f"≥ {CONSUMER_MIN_RATIO:.0%}"),
    Target("peak rss", "memory", "peak RSS of any process", f"< {MEMORY_MAX_MB:.0f} MB"),
    Target("soak growth", "soak", "RSS growth of every process between minute 1 and the last minute of a soak",
           f"< {SOAK_MAX_GROWTH:.0%}"),  # fmt: skip
    Target("cost growth", "growth", "CPU per new customer with 20,000 customers (GROWTH_CUSTOMERS) already in the system ÷ with 0",
           f"≤ {GROWTH_MAX_RATIO}"),  # fmt: skip
)
TARGET_BY_KEY = {target.key: target for target in TARGETS}
