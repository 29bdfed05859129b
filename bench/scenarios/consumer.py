"""Consumer: ``consume_kafka``'s dispatch rate on pre-produced events against a raw kafka-python consumer
reading the same topic (see ``bench/consumer_probe.py``, which runs in credit_manager's environment)."""

from __future__ import annotations

import json
import subprocess
import sys

import redis

from bench.config import CONSUMER_MIN_RATIO, RESULTS_DIR, TARGET_BY_KEY
from bench.model import Check, ScenarioResult, ratio
from bench.profiling import keep, summarize
from bench.session import Bench

# Redis databases of the bench's own (the stack uses 0-3): tasks handed off here are never run.
BROKER_DB = 15
CACHE_DB = 14
PROFILED_EVENTS = 10_000


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult("consumer")
    bench.wait_until_quiet("consumer")
    report = _probe(bench, bench.parameters.events, name="consumer")
    raw, dispatched = report["raw"], report["consume_kafka"]
    figures = {
        "events": report["events"],
        "produce_s": report["produce_s"],
        "raw kafka-python": raw,
        "consume_kafka (EventConsumer + Celery hand-off)": dispatched,
        "tasks handed to Celery": report["queued_tasks"],
        "events in those tasks": report["queued_events"],
        "ratio": round(ratio(dispatched["per_second"], raw["per_second"]), 3),
        "ratio of each round": report["rounds"],
    }
    result.figures.update(figures)
    handed_all = report["queued_events"] == report["events"] * len(report["rounds"]) and dispatched.get("outcomes", {}).get("handled") == report["events"]
    if not handed_all:
        result.notes.append(f"not every event was handed off: {dispatched.get('outcomes')}, {report['queued_events']} events in {report['queued_tasks']} tasks queued")
    result.checks.append(
        Check(
            key="consumer",
            metric=TARGET_BY_KEY["consumer"].figure,
            value=f"{figures['ratio']:.0%} ({dispatched['per_second']:.0f} vs {raw['per_second']:.0f} events/s)",
            target=TARGET_BY_KEY["consumer"].target,
            met=figures["ratio"] >= CONSUMER_MIN_RATIO and handed_all,
        )
    )
    return result


def profile(bench: Bench, result: ScenarioResult) -> None:
    """consume_kafka's loop alone, sampled by py-spy, on fewer events."""
    output = RESULTS_DIR / f"{bench.stamp}-consumer.folded"
    bench.wait_until_quiet("profile of consumer")
    _probe(bench, min(PROFILED_EVENTS, bench.parameters.events), name="consumer-profiled", profile_out=str(output))
    if output.exists():
        result.profiles.append({"name": "consumer", **summarize(output), "file": keep(output)})


def _probe(bench: Bench, events: int, *, name: str, profile_out: str | None = None) -> dict:
    cm = bench.stack.credit_manager
    redis_url = bench.stack.redis_url
    command = [sys.executable, "-m", "bench.consumer_probe", "--topic", f"bench.{name}.{bench.run_id}", "--events", str(events), "--run", f"{name}-{bench.run_id}"]
    if profile_out:
        command += ["--profile-out", profile_out]
    env = cm.env(
        CELERY_BROKER_URL=f"{redis_url}/{BROKER_DB}",
        CACHE_URL=f"{redis_url}/{CACHE_DB}",
        KAFKA_CONSUMER_GROUP=f"bench-{bench.run_id}",
        KAFKA_SESSION_TIMEOUT_MS="6000",  # the group forms sooner; the join is not measured anyway
    )
    try:
        finished = subprocess.run(command, cwd=cm.folder, env=env, capture_output=True, text=True, timeout=600)  # nosec B603 # our own probe, no shell
    finally:
        for db in (BROKER_DB, CACHE_DB):
            redis.Redis.from_url(f"{redis_url}/{db}").flushdb()
    (bench.work_dir / f"{name}.probe.log").write_text(finished.stdout + finished.stderr)
    if finished.returncode != 0:
        raise RuntimeError(f"the consumer probe failed (exit {finished.returncode}): {finished.stderr.strip()[-1500:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])
