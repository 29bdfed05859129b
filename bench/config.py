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


SCENARIO_NAMES = ("pipeline", "read", "write", "authorization", "consumer")


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
    scenarios: tuple[str, ...] = SCENARIO_NAMES
    """The scenarios to run (the pipeline always, when read, write or authorization runs: it makes their customers)."""
    stack: str = "own"
    """``own``: start a throw-away stack; ``running``: use the one ``make run`` started."""
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
    parser.add_argument("--scenarios", default=env.get("SCENARIOS") or ",".join(SCENARIO_NAMES))
    parser.add_argument("--stack", choices=["own", "running"], default=env.get("STACK") or "own")
    arguments = parser.parse_args(argv)
    parameters = Parameters(
        duration=arguments.duration,
        concurrency=arguments.concurrency,
        customers=arguments.customers,
        events=arguments.events,
        threads=arguments.threads,
        profile=arguments.profile,
        scenarios=_scenarios(parser, arguments.scenarios),
        stack=arguments.stack,
        quick=quick,
    )
    if min(parameters.duration, parameters.concurrency, parameters.customers, parameters.events, parameters.threads) < 1:
        parser.error("DURATION, CONCURRENCY, CUSTOMERS, EVENTS and THREADS must be at least 1")
    if parameters.concurrency < parameters.threads:
        parser.error("CONCURRENCY must be at least THREADS (each load thread needs a connection)")
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
    if chosen & {"read", "write", "authorization"}:
        chosen.add("pipeline")
    return tuple(name for name in SCENARIO_NAMES if name in chosen)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


# The provisional targets; each scenario's checks say whether the run met them.
READ_MIN_RATIO = 0.5
READ_MAX_P99_MS = 50.0
WRITE_MIN_RATIO = 0.4
AUTHORIZATION_MIN_RATIO = WRITE_MIN_RATIO  # an approval does a purchase's kind of work, against the same baseline
AUTHORIZATION_STEADY_MAX_P99_MS = 50.0  # the target issue 11 sets for purchases at a steady rate
PIPELINE_MIN_RATE = 300.0
PIPELINE_MAX_P99_S = 2.0
CONSUMER_MIN_RATIO = 0.7
MEMORY_MAX_MB = 250.0
