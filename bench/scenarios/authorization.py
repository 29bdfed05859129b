"""Authorization: ``POST /accounts/{id}/authorizations`` card authorizations, approved (the amount held),
spread over every active account, against the pgbench baseline of the purchases (``sql/purchase.sql``).
An approval does a purchase's kind of work, so it is held to the purchases' targets: approvals/s and CPU
per approval against pgbench's, and the steady run's p99.

Two runs, each on an idle stack: a closed loop at the bench's concurrency (each connection sends its
next request when it has the answer to the last: the capacity), then a steady rate of half that
capacity (at least 10/s) paced by the Lua script, whose p99 is what a caller waits when the API is
not saturated. The baseline is the write scenario's pgbench spread run of the same invocation; when
write did not run, it is measured here the same way, first. Afterwards every approval wrk received
must be a pending authorization in the database, and ``manage.py verify_ledger`` must find every
balance equal to its ledger lines and every account's holds equal to its pending authorizations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.config import (
    AUTHORIZATION_MAX_CPU_RATIO,
    AUTHORIZATION_MIN_RATIO,
    AUTHORIZATION_STEADY_MAX_P99_MS,
    STEADY_MIN_ACHIEVED,
)
from bench.cpu import cpu_usage
from bench.model import Check, ScenarioResult, cpu_ms_per, cpu_ratio_check, ratio, steady
from bench.profiling import profiled
from bench.scenarios.write import _accounts, _pgbench, ledger_verdict  # the purchases' accounts, baseline and check
from bench.session import Bench
from bench.tools import PgbenchResult, WrkResult, run_wrk

STEADY_SHARE = 0.5
"""The steady run's rate, as a share of the closed loop's approvals/s."""
STEADY_MIN_RATE = 10.0
MCC = "5411"  # grocery stores: no rule of their own, so the default (7 days, no tolerance)


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult("authorization")
    accounts = _accounts(bench)
    baseline, baseline_cpu, source = _baseline(bench, accounts)

    closed, closed_cpu = _authorize(bench, accounts, "authorization-closed")
    closed_figures = _figures(bench, closed, "authorization-closed")
    capacity = closed_figures["per_second"]
    asked = max(STEADY_SHARE * capacity, STEADY_MIN_RATE)
    steady_run, _ = _authorize(bench, accounts, "authorization-steady", rate=asked)
    steady_figures = steady(_figures(bench, steady_run, "authorization-steady"), asked)
    ledger = bench.stack.credit_manager.manage("verify_ledger")
    ledger_output = (ledger.stdout + ledger.stderr).strip()

    closed_figures["accounts"] = len(accounts)
    closed_figures["ratio"] = round(ratio(capacity, baseline.tps), 3)
    cpu_per_approval = cpu_ms_per(closed_cpu, closed_figures["approved"])
    cpu_per_transaction = cpu_ms_per(baseline_cpu, baseline.transactions)
    cpu_ratio = round(ratio(cpu_per_approval, cpu_per_transaction), 1)
    result.figures.update({
        "pgbench spread": {**baseline.summary(), "source": source},
        "closed loop": closed_figures,
        "steady rate": steady_figures,
        "cpu": {"pgbench spread": {**baseline_cpu, "transactions": baseline.transactions},
                "api closed loop": {**closed_cpu, "transactions": closed_figures["approved"]}},
        "cpu per approval vs pgbench transaction": {
            "approval_ms": round(cpu_per_approval, 2), "transaction_ms": round(cpu_per_transaction, 3), "ratio": cpu_ratio,
        },
        "verify_ledger": {"exit_code": ledger.returncode, "output": ledger_verdict(ledger_output)},
    })  # fmt: skip

    requests = closed_figures["requests"] + steady_figures["requests"]
    errors = closed_figures["errors"] + steady_figures["errors"]
    server_errors = closed_figures["5xx"] + steady_figures["5xx"]
    lost = closed_figures["lost"] + steady_figures["lost"]
    result.checks += [
        cpu_ratio_check(
            metric="CPU per approval, all processes, ÷ pgbench's CPU per transaction", target=f"≤ {AUTHORIZATION_MAX_CPU_RATIO:.0f}×",
            unit="approval", unit_ms=cpu_per_approval, transaction_ms=cpu_per_transaction, done=closed_figures["approved"],
            limit=AUTHORIZATION_MAX_CPU_RATIO,
        ),
        Check(
            metric="authorizations spread, approvals/s ÷ pgbench spread tx/s",
            value=f"{closed_figures['ratio']:.1%} ({capacity:.0f} vs {baseline.tps:.0f} tx/s), "
            f"p99 {closed_figures['p99_ms']:.1f} ms at concurrency {bench.parameters.concurrency}",
            target=f"≥ {AUTHORIZATION_MIN_RATIO:.0%}",
            met=closed_figures["approved"] > 0 and closed_figures["ratio"] >= AUTHORIZATION_MIN_RATIO,
        ),
        Check(
            metric="authorizations at a steady rate, p99",
            value=f"{steady_figures['p99_ms']:.1f} ms at {steady_figures['per_second']:.1f}/s "
            f"({steady_figures['achieved']:.0%} of {asked:.1f}/s asked, {STEADY_SHARE:.0%} of the closed loop's)",
            target=f"≤ {AUTHORIZATION_STEADY_MAX_P99_MS:.0f} ms, ≥ {STEADY_MIN_ACHIEVED:.0%} of the rate asked",
            met=steady_figures["approved"] > 0
            and steady_figures["achieved"] >= STEADY_MIN_ACHIEVED
            and steady_figures["p99_ms"] <= AUTHORIZATION_STEADY_MAX_P99_MS,
        ),
        Check(
            metric="authorizations: errors, lost approvals, ledger and holds",
            value=f"{requests:,} requests, {errors} errors ({server_errors} 5xx), {lost} lost, verify_ledger exit {ledger.returncode}",
            target="no error, none lost, verify_ledger clean",
            met=requests > 0 and errors == 0 and lost == 0 and ledger.returncode == 0,
        ),
    ]
    if ledger.returncode != 0:
        result.notes.append(f"verify_ledger failed: {ledger_output[-500:]}")
    for name in ("closed loop", "steady rate"):
        for sample in result.figures[name].pop("error samples"):
            result.notes.append(f"{name}: answered {sample}")
    return result


def profile(bench: Bench, result: ScenarioResult) -> None:
    """Every process of the stack during a shorter closed-loop run (the API, and the relay and events it causes)."""
    accounts = _accounts(bench)
    bench.wait_until_quiet("profile of authorization")
    with profiled(
        bench.stack.root_pid, label=bench.memory.label_of, stamp=bench.stamp, name="authorization", into=result.profiles
    ):
        _authorize(bench, accounts, "authorization-profiled", duration=min(bench.parameters.duration, 10), wait=False)


def _baseline(bench: Bench, accounts: list[str]) -> tuple[PgbenchResult, dict, str]:
    """pgbench doing a purchase's database work: write's run of this invocation, else measured now."""
    shared = bench.baselines.get("pgbench spread")
    if shared is not None:
        return shared["result"], shared["cpu"], shared["source"]
    measured, cpu = _pgbench(bench, accounts, "authorization-pgbench-spread")
    source = "measured by authorization: write did not run"
    bench.baselines["pgbench spread"] = {"result": measured, "cpu": cpu, "accounts": len(accounts), "source": source}
    return measured, cpu, source


def _authorize(
    bench: Bench, accounts: list[str], name: str, *, rate: float | None = None, duration: int | None = None, wait: bool = True
) -> tuple[WrkResult, dict]:
    """The authorizations wrk sends (paced at ``rate`` a second when given), and the CPU the machine used
    meanwhile (by process group). Their network references and idempotency keys start with :func:`_tag`."""
    cm = bench.stack.credit_manager
    if wait:
        bench.wait_until_quiet(name)
    accounts_file = bench.work_dir / f"{name}.accounts"
    accounts_file.write_text("\n".join(accounts) + "\n")
    errors_file = _errors_file(bench, name)
    errors_file.unlink(missing_ok=True)
    variables = {
        "BENCH_ACCOUNTS": str(accounts_file),
        "BENCH_RUN": _tag(bench, name),
        "BENCH_AMOUNT": bench.parameters.purchase_amount,
        "BENCH_MCC": MCC,
        "BENCH_ERRORS": str(errors_file),
    }
    connections, threads = bench.load_shape(rate)
    with cpu_usage(bench.memory) as cpu:
        answered = run_wrk(
            script="authorize.lua",
            url=cm.url,
            duration=duration or bench.parameters.duration,
            connections=connections,
            threads=threads,
            headers=cm.headers(),
            variables=variables,
            work_dir=bench.work_dir,
            name=name,
            rate=rate,
        )
    return answered, cpu


def _tag(bench: Bench, name: str) -> str:
    return f"bench-{bench.run_id}-{name}"


def _errors_file(bench: Bench, name: str) -> Path:
    return bench.work_dir / f"{name}.errors"


def _figures(bench: Bench, answered: WrkResult, name: str) -> dict[str, Any]:
    """wrk's figures, the approvals among its 201s, and what the database holds for the run."""
    outcomes = answered.report.get("outcomes", {})
    approved, declined = int(outcomes.get("approved", 0)), int(outcomes.get("declined", 0))
    stored = dict(
        bench.stack.credit_manager.query(
            "SELECT status, count(*) FROM authorizations_authorization WHERE starts_with(network_reference, %s) GROUP BY status",
            [f"{_tag(bench, name)}-"],
        )
    )
    pending = int(stored.get("pending", 0))
    return {
        **answered.summary(201),
        "per_second": round(approved / answered.duration_s, 1) if answered.duration_s else 0.0,
        "approved": approved,
        "declined": declined,
        # every answer but a 201 approval is an error here: a decline means the accounts ran out of credit
        "errors": answered.requests - approved + answered.socket_errors,
        "5xx": sum(n for status, n in answered.statuses.items() if int(status) >= 500),
        "stored": {status: int(n) for status, n in sorted(stored.items())},
        "lost": max(approved - pending, 0),
        "approved but unanswered (in flight at the end)": max(pending - approved, 0),
        "error samples": _error_samples(_errors_file(bench, name)),
    }


def _error_samples(errors_file: Path) -> list[str]:
    """The first answers that were not approvals (status and body), as the Lua script kept them."""
    if not errors_file.exists():
        return []
    return [line.strip() for line in errors_file.read_text(errors="replace").splitlines() if line.strip()][:6]

