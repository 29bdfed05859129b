"""Pipeline: customers registered through the API as fast as it accepts them, until every one has its
credit summary (the analysis result) in user_manager.

No baseline: the figures are the end-to-end rate and latency, and where the time goes, stage by
stage, taken from timestamps the services already write (no instrumentation):

============  ======================================================================================
api           client-side latency of ``POST /users`` (wrk)
um outbox     user_manager's outbox row: created (in the request) -> sent (Kafka acknowledged)
consume       sent -> credit_manager's inbox row for ``user.created`` (the task began)
analysis      inbox row -> the ``credit.analysis.completed`` outbox row (account opened and analysed)
cm outbox     that row: created -> sent
summary       sent -> user_manager's inbox row for it (the summary is written in that transaction)
============  ======================================================================================
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime

from bench.config import PIPELINE_MAX_P99_S, PIPELINE_MIN_RATE
from bench.cpu import cpu_usage
from bench.model import Check, ScenarioResult, percentile
from bench.profiling import profiled
from bench.session import Bench
from bench.tools import run_wrk

STALL_SECONDS = 60.0  # no customer completed for this long: the rest are counted as lost
PROFILED_CUSTOMERS = 500
STAGES = ("um outbox", "consume", "analysis", "cm outbox", "summary")


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult("pipeline")
    bench.wait_until_quiet("pipeline")
    with bench.memory.during("pipeline"), cpu_usage(bench.memory) as cpu:
        outcome = _create_and_follow(bench, bench.parameters.customers, name="pipeline")
    result.figures.update(outcome.figures())
    result.figures["cpu"] = cpu
    result.notes += outcome.notes
    e2e = outcome.figures()["end to end"]
    faults = outcome.lost + outcome.duplicated
    result.checks += [
        Check(
            metric="customers/s end to end",
            value=f"{outcome.rate:.0f}/s ({outcome.completed} in {outcome.elapsed_s:.1f} s)",
            target=f"≥ {PIPELINE_MIN_RATE:.0f}/s",
            met=outcome.rate >= PIPELINE_MIN_RATE,
        ),
        Check(
            metric="latency per customer, p99",
            value=f"{e2e['p99_s']:.2f} s (p50 {e2e['p50_s']:.2f} s)",
            target=f"< {PIPELINE_MAX_P99_S:.0f} s",
            met=e2e["p99_s"] < PIPELINE_MAX_P99_S and outcome.completed > 0,
        ),
        Check(
            metric="lost / duplicated accounts",
            value=f"{outcome.lost} lost, {outcome.duplicated} duplicated",
            target="0 and 0",
            met=faults == 0 and outcome.created == bench.parameters.customers,
        ),
    ]
    return result


def profile(bench: Bench, result: ScenarioResult) -> None:
    """Every process of the stack (py-spy follows the devstack's children) during a smaller pipeline."""
    bench.wait_until_quiet("profile of pipeline")
    with profiled(bench.stack.root_pid, label=bench.memory.label_of, stamp=bench.stamp, name="pipeline", into=result.profiles):
        _create_and_follow(bench, min(PROFILED_CUSTOMERS, bench.parameters.customers), name="pipeline-profiled")


@dataclass
class Timeline:
    """One customer's way through the system (epoch seconds; None where it never got)."""

    created_at: float
    um_sent_at: float | None = None
    um_outbox_at: float | None = None
    cm_received_at: float | None = None
    analysed_at: float | None = None
    cm_sent_at: float | None = None
    summarised_at: float | None = None

    def stages(self) -> dict[str, float | None]:
        return {
            "um outbox": _between(self.um_outbox_at, self.um_sent_at),
            "consume": _between(self.um_sent_at, self.cm_received_at),
            "analysis": _between(self.cm_received_at, self.analysed_at),
            "cm outbox": _between(self.analysed_at, self.cm_sent_at),
            "summary": _between(self.cm_sent_at, self.summarised_at),
            "end to end": _between(self.created_at, self.summarised_at),
        }


@dataclass
class Outcome:
    requested: int
    created: int
    started: float
    api: dict
    timelines: dict[str, Timeline]
    duplicated: int
    notes: list[str]

    @property
    def completed(self) -> int:
        return sum(1 for t in self.timelines.values() if t.summarised_at is not None)

    @property
    def lost(self) -> int:
        return self.created - self.completed

    @property
    def elapsed_s(self) -> float:
        ends = [t.summarised_at for t in self.timelines.values() if t.summarised_at is not None]
        return max(ends) - self.started if ends else 0.0

    @property
    def rate(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s else 0.0

    def figures(self) -> dict:
        stages: dict[str, dict] = {"api (POST /users)": {"p50_s": self.api["p50_ms"] / 1000, "p99_s": self.api["p99_ms"] / 1000}}
        for stage in (*STAGES, "end to end"):
            values = [v for t in self.timelines.values() if (v := t.stages()[stage]) is not None]
            stages[stage] = {"p50_s": round(percentile(values, 50), 3), "p99_s": round(percentile(values, 99), 3), "n": len(values)}
        return {
            "customers requested": self.requested,
            "customers created (201)": self.created,
            "customers with a credit summary": self.completed,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "elapsed_s": round(self.elapsed_s, 2),
            "customers_per_second": round(self.rate, 1),
            "api": self.api,
            "api accepted/s": self.api["per_second"],
            "stages": stages,
            "end to end": stages["end to end"],
        }


def _create_and_follow(bench: Bench, customers: int, *, name: str) -> Outcome:
    um = bench.stack.user_manager
    domain = f"{name}-{bench.run_id}.example.com"
    started = time.time()
    created = run_wrk(
        script="customers.lua",
        url=um.url,
        duration=max(120, customers // 5),  # an upper bound: wrk stops once every customer is answered
        connections=bench.parameters.concurrency,
        # One thread: when it stops, wrk exits and closes every connection. A stopped thread of several
        # would leave its connections open, and a sync gunicorn worker that accepts one waits on it.
        threads=1,
        headers=um.headers(),
        variables={
            "BENCH_CUSTOMERS": str(customers),
            "BENCH_CPF_BASE": str(random.randrange(100, 800) * 1_000_000),  # nosec B311 # test data, not a secret
            "BENCH_EMAIL_DOMAIN": domain,
        },
        work_dir=bench.work_dir,
        name=f"{name}-create",
        until_done=True,
    )
    accepted = created.count(201)
    notes = []
    unexpected = {s: n for s, n in created.statuses.items() if s not in ("201", "422")}
    if unexpected or created.socket_errors:
        notes.append(f"{name}: unexpected answers while creating customers: {unexpected}, socket errors {created.socket_errors}")
    _wait_for_summaries(bench, domain, accepted)
    timelines, duplicated = _timelines(bench, domain)
    if len(timelines) != accepted:
        notes.append(f"{name}: {accepted} customers created (201) but {len(timelines)} in user_manager's database")
    return Outcome(
        requested=customers,
        created=accepted,
        started=started,
        api=created.summary(201),
        timelines=timelines,
        duplicated=duplicated,
        notes=notes,
    )


def _wait_for_summaries(bench: Bench, domain: str, expected: int) -> None:
    """Until every customer's summary shows the analysis, or nothing progressed for ``STALL_SECONDS``."""
    um = bench.stack.user_manager
    done, last_progress = -1, time.monotonic()
    while True:
        count = um.query(
            """SELECT count(*) FROM credit_summary_creditsummary s JOIN users_customer c ON c.id = s.customer_id
               WHERE c.email LIKE %s AND s.last_decision_at IS NOT NULL""",
            [f"%@{domain}"],
        )[0][0]
        if count >= expected:
            return
        if count > done:
            done, last_progress = count, time.monotonic()
        elif time.monotonic() - last_progress > STALL_SECONDS:
            print(f"bench: pipeline stalled at {count}/{expected} summaries", file=sys.stderr)
            return
        time.sleep(0.25)


def _timelines(bench: Bench, domain: str) -> tuple[dict[str, Timeline], int]:
    """Each customer's timestamps from both databases, and how many things happened twice."""
    um, cm = bench.stack.user_manager, bench.stack.credit_manager
    customers = um.query("SELECT id::text, created_at FROM users_customer WHERE email LIKE %s", [f"%@{domain}"])
    timelines = {customer_id: Timeline(created_at=_epoch(created_at)) for customer_id, created_at in customers}
    ids = list(timelines)
    duplicated = 0
    for subject, created_at, sent_at in um.query(
        "SELECT subject, created_at, sent_at FROM outbox_outboxevent WHERE event_type = 'user.created' AND subject = ANY(%s)", [ids]
    ):
        timeline = timelines[subject]
        duplicated += timeline.um_outbox_at is not None
        timeline.um_outbox_at, timeline.um_sent_at = _epoch(created_at), _epoch(sent_at)
    for subject, processed_at in cm.query(
        "SELECT subject, processed_at FROM inbox_processedevent WHERE event_type = 'user.created' AND subject = ANY(%s)", [ids]
    ):
        timelines[subject].cm_received_at = _epoch(processed_at)
    accounts = cm.query("SELECT user_id::text, count(*) FROM accounts_creditaccount WHERE user_id::text = ANY(%s) GROUP BY 1", [ids])
    duplicated += sum(n - 1 for _, n in accounts)
    analysis_events: dict[str, str] = {}
    for subject, event_id, created_at, sent_at in cm.query(
        """SELECT subject, event_id::text, created_at, sent_at FROM outbox_outboxevent
           WHERE event_type = 'credit.analysis.completed' AND subject = ANY(%s) ORDER BY id""",
        [ids],
    ):
        timeline = timelines[subject]
        if subject in analysis_events:
            duplicated += 1
            continue
        analysis_events[subject] = event_id
        timeline.analysed_at, timeline.cm_sent_at = _epoch(created_at), _epoch(sent_at)
    subject_of = {event_id: subject for subject, event_id in analysis_events.items()}
    for event_id, processed_at in um.query(
        "SELECT event_id::text, processed_at FROM inbox_processedevent WHERE event_id::text = ANY(%s)", [list(subject_of)]
    ):
        timelines[subject_of[event_id]].summarised_at = _epoch(processed_at)
    return timelines, duplicated


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _between(start: float | None, end: float | None) -> float | None:
    return end - start if start is not None and end is not None else None
