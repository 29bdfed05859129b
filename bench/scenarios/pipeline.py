"""Pipeline: customers registered through the API as fast as it accepts them (the burst), until every one
has its credit summary (the analysis result) in user_manager; then customers registered at a steady
intake of a quarter of the burst's rate, for the run's duration, and followed the same way.

The burst gives the capacity (customers/s end to end) and the CPU per customer, which the issue
holds against pgbench's (the write scenario's run, later in the same invocation: :func:`relate_to_pgbench`
computes those ratios once every scenario ran). The steady intake gives the latency a customer sees
when the pipeline keeps up. Where the time goes, stage by stage, is taken from timestamps the
services already write (no instrumentation):

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

import sys
import time
from dataclasses import dataclass
from datetime import datetime

from bench.config import (
    PIPELINE_MAX_CPU_RATIO,
    PIPELINE_MIN_RATIO,
    PIPELINE_STEADY_MAX_P99_S,
    PIPELINE_STEADY_SHARE,
    STEADY_MIN_ACHIEVED,
    TARGET_BY_KEY,
)
from bench.cpu import cpu_usage
from bench.model import Check, ScenarioResult, cpu_ms_per, cpu_ratio_check, percentile, ratio
from bench.profiling import profiled
from bench.session import Bench
from bench.tools import run_wrk

STALL_SECONDS = 60.0  # no customer completed for this long: the rest are counted as lost
PROFILED_CUSTOMERS = 500
STEADY_MIN_RATE = 1.0
STAGES = ("um outbox", "consume", "analysis", "cm outbox", "summary")


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult("pipeline")
    with bench.memory.during("pipeline"):
        outcome, cpu = measure_burst(bench, bench.parameters.customers, name="pipeline")
    result.figures.update(outcome.figures())
    result.figures["cpu"] = cpu
    result.figures["cpu per customer_ms"] = round(cpu_ms_per(cpu, outcome.completed), 2)
    result.notes += outcome.notes

    asked = max(PIPELINE_STEADY_SHARE * outcome.rate, STEADY_MIN_RATE)
    bench.wait_until_quiet("pipeline-steady")
    steady = create_and_follow(bench, max(round(asked * bench.parameters.duration), 1), name="pipeline-steady", rate=asked)
    steady_figures = steady.figures()
    steady_figures.update(asked_per_second=round(asked, 2), achieved=round(ratio(steady.api["per_second"], asked), 3))
    result.figures["steady intake"] = steady_figures
    result.notes += steady.notes

    e2e = steady_figures["end to end"]
    result.checks += [
        Check(
            key="pipeline steady p99",
            metric=TARGET_BY_KEY["pipeline steady p99"].figure,
            value=f"{e2e['p99_s']:.2f} s (p50 {e2e['p50_s']:.2f} s) for {steady.completed} customers at {steady.api['per_second']:.1f}/s "
            f"({steady_figures['achieved']:.0%} of {asked:.1f}/s asked: a quarter of the burst's {outcome.rate:.0f}/s)",
            target=TARGET_BY_KEY["pipeline steady p99"].target,
            met=steady.completed > 0 and steady_figures["achieved"] >= STEADY_MIN_ACHIEVED and e2e["p99_s"] <= PIPELINE_STEADY_MAX_P99_S,
        ),
        Check(
            metric="customers lost / duplicated (burst and steady intake)",
            value=f"burst: {outcome.created:,} created, {outcome.lost} lost, {outcome.duplicated} duplicated; "
            f"steady: {steady.created:,} created, {steady.lost} lost, {steady.duplicated} duplicated",
            target="0 and 0, every customer created",
            met=outcome.faults + steady.faults == 0 and outcome.created == outcome.requested and steady.created == steady.requested,
        ),
    ]
    return result


def relate_to_pgbench(bench: Bench, result: ScenarioResult) -> None:
    """The burst's customers/s and CPU per customer against pgbench's (the write scenario's spread run,
    measured after the pipeline): the issue's ratios, once every scenario ran."""
    if result.error or "customers_per_second" not in result.figures:
        return
    baseline = bench.baselines.get("pgbench spread")
    checks = {key: TARGET_BY_KEY[key] for key in ("customer cpu", "pipeline rate")}
    if baseline is None:
        for key, target in checks.items():
            missing = "not measured: write did not run (its pgbench spread run is the baseline)"
            result.checks.append(Check(key=key, metric=target.figure, value=missing, target=target.target, met=None))
        return
    pg, pg_cpu = baseline["result"], baseline["cpu"]
    completed = result.figures["customers with a credit summary"]
    customer_ms, transaction_ms = cpu_ms_per(result.figures["cpu"], completed), cpu_ms_per(pg_cpu, pg.transactions)
    rate = result.figures["customers_per_second"]
    related = {
        "pgbench spread tx/s": round(pg.tps, 1),
        "pgbench source": baseline["source"],
        "customers/s vs pgbench tx/s": round(ratio(rate, pg.tps), 4),
        "cpu per customer_ms": round(customer_ms, 2),
        "cpu per pgbench transaction_ms": round(transaction_ms, 3),
        "cpu per customer vs pgbench transaction": round(ratio(customer_ms, transaction_ms), 1),
    }
    result.figures["vs pgbench"] = related
    result.checks += [
        cpu_ratio_check(
            key="customer cpu", metric=checks["customer cpu"].figure, target=checks["customer cpu"].target,
            unit="customer", unit_ms=customer_ms, transaction_ms=transaction_ms, done=completed, limit=PIPELINE_MAX_CPU_RATIO,
        ),
        Check(
            key="pipeline rate",
            metric=checks["pipeline rate"].figure,
            value=f"{related['customers/s vs pgbench tx/s']:.1%} ({rate:.0f} customers/s vs {pg.tps:.0f} tx/s; "
            f"{completed:,} customers in {result.figures['elapsed_s']:.1f} s, p99 {result.figures['end to end']['p99_s']:.2f} s)",
            target=checks["pipeline rate"].target,
            met=related["customers/s vs pgbench tx/s"] >= PIPELINE_MIN_RATIO,
        ),
    ]


def measure_burst(bench: Bench, customers: int, *, name: str) -> tuple[Outcome, dict]:
    """``customers`` created as fast as the API accepts them and followed to their summary, on an idle
    stack, and the CPU the machine used meanwhile (by process group)."""
    bench.wait_until_quiet(name)
    with cpu_usage(bench.memory) as cpu:
        outcome = create_and_follow(bench, customers, name=name)
    return outcome, cpu


def profile(bench: Bench, result: ScenarioResult) -> None:
    """Every process of the stack (py-spy follows the devstack's children) during a smaller burst."""
    bench.wait_until_quiet("profile of pipeline")
    with profiled(bench.stack.root_pid, label=bench.memory.label_of, stamp=bench.stamp, name="pipeline", into=result.profiles):
        create_and_follow(bench, min(PROFILED_CUSTOMERS, bench.parameters.customers), name="pipeline-profiled")


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
    def faults(self) -> int:
        return self.lost + self.duplicated

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


def create_and_follow(bench: Bench, customers: int, *, name: str, rate: float | None = None, connections: int | None = None) -> Outcome:
    """``customers`` registered through the API (as fast as it answers, or at ``rate`` a second), then
    followed until each has its credit summary; their timelines. ``name`` must be new in the run.
    ``connections``: wrk's (default: :meth:`Bench.load_shape`'s)."""
    um = bench.stack.user_manager
    domain = f"{name}-{bench.run_id}.example.com"
    started = time.time()
    created = run_wrk(
        script="customers.lua",
        url=um.url,
        # an upper bound: wrk stops once every customer is answered
        duration=max(120, customers // 5) if rate is None else customers / rate + 120,
        connections=connections or bench.load_shape(rate)[0],
        # One thread: when it stops, wrk exits and closes every connection (a stopped thread of several
        # would leave its connections open until -d ends).
        threads=1,
        headers=um.headers(),
        variables={
            "BENCH_CUSTOMERS": str(customers),
            "BENCH_CPF_BASE": str(bench.cpf_base()),
            "BENCH_EMAIL_DOMAIN": domain,
        },
        work_dir=bench.work_dir,
        name=f"{name}-create",
        until_done=True,
        rate=rate,
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
