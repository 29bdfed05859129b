"""Write: ``POST /accounts/{id}/transactions`` purchases, spread over many accounts and all on one hot
account, against pgbench doing the same database work (``sql/purchase.sql``) on the same tables.

The order is pgbench spread, API spread, API spread at a steady 50/s, pgbench hot, API hot, each on an
idle stack. The spread runs give the purchases' rate and CPU per purchase against pgbench's (the
baseline every ratio of the issue uses, the pipeline's included); the steady run gives the latency a
caller sees when the API is not saturated. Afterwards the hot account's ledger is compared with the
201s wrk counted (none may be missing) and ``manage.py verify_ledger`` must find every balance equal
to the sum of its ledger lines.
"""

from __future__ import annotations

from bench.config import (
    BENCH_DIR,
    PURCHASE_MAX_CPU_RATIO,
    PURCHASE_MIN_RATIO,
    PURCHASE_STEADY_MAX_P99_MS,
    PURCHASE_STEADY_RATE,
    STEADY_MIN_ACHIEVED,
    TARGET_BY_KEY,
)
from bench.cpu import cpu_usage
from bench.model import Check, ScenarioResult, cpu_ms_per, cpu_ratio_check, ratio, steady
from bench.profiling import profiled
from bench.session import Bench
from bench.tools import PgbenchResult, WrkResult, run_pgbench, run_wrk

MAX_ACCOUNTS = 2000
PGBENCH_SCRIPT = BENCH_DIR / "sql" / "purchase.sql"
PICK_TABLE = "bench_pgbench_account"


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult("write")
    accounts = _accounts(bench)
    hot = accounts[:1]
    spread_pg, spread_pg_cpu = _pgbench(bench, accounts, "write-pgbench-spread")
    # the baseline of the authorization scenario and of the pipeline's ratios too
    bench.baselines["pgbench spread"] = {"result": spread_pg, "cpu": spread_pg_cpu, "accounts": len(accounts), "source": "write's run"}
    spread_api, spread_api_cpu = _purchases(bench, accounts, "write-api-spread", reference=f"bench-{bench.run_id}-spread")
    steady_api, _ = _purchases(bench, accounts, "write-api-steady", reference=f"bench-{bench.run_id}-steady", rate=PURCHASE_STEADY_RATE)
    hot_pg, _ = _pgbench(bench, hot, "write-pgbench-hot")
    hot_reference = f"bench-{bench.run_id}-hot"
    hot_api, _ = _purchases(bench, hot, "write-api-hot", reference=hot_reference)

    spread = {**spread_api.summary(201), "accounts": len(accounts)}
    spread["ratio"] = round(ratio(spread_api.rate(201), spread_pg.tps), 3)
    steady_figures = {**steady(steady_api.summary(201), PURCHASE_STEADY_RATE), "accounts": len(accounts)}
    hot_figures = {**hot_api.summary(201), "ratio": round(ratio(hot_api.rate(201), hot_pg.tps), 3)}
    posted = _posted(bench, hot[0], hot_reference)
    answered = hot_api.count(201)
    errors = {name: _errors(run) for name, run in (("spread", spread_api), ("steady", steady_api), ("hot", hot_api))}
    hot_figures.update({"ledger rows": posted, "lost": max(answered - posted, 0), "posted but unanswered (in flight at the end)": max(posted - answered, 0)})
    ledger = bench.stack.credit_manager.manage("verify_ledger")
    purchase_ms, transaction_ms = cpu_ms_per(spread_api_cpu, spread_api.count(201)), cpu_ms_per(spread_pg_cpu, spread_pg.transactions)
    cpu_ratio = {"purchase_ms": round(purchase_ms, 2), "transaction_ms": round(transaction_ms, 3), "ratio": round(ratio(purchase_ms, transaction_ms), 1)}
    result.figures.update({
        "pgbench spread": spread_pg.summary(),
        "api spread": spread,
        "api steady rate": steady_figures,
        "cpu": {"pgbench spread": {**spread_pg_cpu, "transactions": spread_pg.transactions},
                "api spread": {**spread_api_cpu, "transactions": spread_api.count(201)}},
        "cpu per purchase vs pgbench transaction": cpu_ratio,
        "pgbench hot": hot_pg.summary(),
        "api hot": hot_figures,
        "errors": errors,
        "verify_ledger": {"exit_code": ledger.returncode, "output": ledger_verdict(ledger.stdout + ledger.stderr)},
    })  # fmt: skip
    result.checks += [
        cpu_ratio_check(
            key="purchase cpu", metric=TARGET_BY_KEY["purchase cpu"].figure, target=TARGET_BY_KEY["purchase cpu"].target,
            unit="purchase", unit_ms=purchase_ms, transaction_ms=transaction_ms, done=spread_api.count(201),
            limit=PURCHASE_MAX_CPU_RATIO,
        ),
        Check(
            key="purchase rate",
            metric=TARGET_BY_KEY["purchase rate"].figure,
            value=f"{spread['ratio']:.1%} ({spread['per_second']:.0f} vs {spread_pg.tps:.0f} tx/s), p99 {spread['p99_ms']:.1f} ms "
            f"at concurrency {bench.parameters.concurrency}",
            target=TARGET_BY_KEY["purchase rate"].target,
            met=spread["ratio"] >= PURCHASE_MIN_RATIO,
        ),
        Check(
            key="purchase steady p99",
            metric=TARGET_BY_KEY["purchase steady p99"].figure,
            value=f"{steady_figures['p99_ms']:.1f} ms (p50 {steady_figures['p50_ms']:.1f} ms) at {steady_figures['per_second']:.1f}/s, "
            f"{steady_figures['achieved']:.0%} of {PURCHASE_STEADY_RATE:.0f}/s asked",
            target=TARGET_BY_KEY["purchase steady p99"].target,
            met=steady_api.count(201) > 0
            and steady_figures["achieved"] >= STEADY_MIN_ACHIEVED
            and steady_figures["p99_ms"] <= PURCHASE_STEADY_MAX_P99_MS,
        ),
        Check(
            metric="purchases: errors, the hot account's ledger, verify_ledger",
            value=f"errors: {', '.join(f'{n} {name}' for name, n in errors.items())}; hot account {hot_figures['per_second']:.0f} tx/s "
            f"({hot_figures['ratio']:.0%} of pgbench hot), p99 {hot_figures['p99_ms']:.1f} ms, {hot_figures['lost']} lost; "
            f"verify_ledger exit {ledger.returncode}",
            target="no error, no lost transaction, verify_ledger clean",
            met=not any(errors.values()) and hot_figures["lost"] == 0 and ledger.returncode == 0,
        ),
    ]
    if ledger.returncode != 0:
        result.notes.append(f"verify_ledger failed: {result.figures['verify_ledger']['output']}")
    return result


def profile(bench: Bench, result: ScenarioResult) -> None:
    """Every process of the stack during a shorter spread run (the API, and the relay and events it causes)."""
    accounts = _accounts(bench)
    bench.wait_until_quiet("profile of write")
    with profiled(bench.stack.root_pid, label=bench.memory.label_of, stamp=bench.stamp, name="write", into=result.profiles):
        _purchases(bench, accounts, "write-profiled", reference=f"bench-{bench.run_id}-profiled", duration=min(bench.parameters.duration, 10))


def _accounts(bench: Bench) -> list[str]:
    """Active accounts with room for many purchases; the one with the most is the hot account."""
    rows = bench.stack.credit_manager.query(
        """SELECT id::text FROM accounts_creditaccount WHERE status = 'active' AND credit_limit - balance >= 100
           ORDER BY credit_limit - balance DESC, id LIMIT %s""",
        [MAX_ACCOUNTS],
    )
    if len(rows) < 2:
        raise RuntimeError(f"only {len(rows)} active account(s) with credit to spend (the pipeline scenario creates them)")
    return [row[0] for row in rows]


def _errors(answered: WrkResult) -> int:
    return answered.requests - answered.count(201) + answered.socket_errors


def _purchases(
    bench: Bench, accounts: list[str], name: str, *, reference: str, duration: int | None = None, rate: float | None = None
) -> tuple[WrkResult, dict]:
    """The purchases wrk sends (paced at ``rate`` a second when given), and the CPU the machine used meanwhile
    (by process group)."""
    cm = bench.stack.credit_manager
    bench.wait_until_quiet(name)
    accounts_file = bench.work_dir / f"{name}.accounts"
    accounts_file.write_text("\n".join(accounts) + "\n")
    connections, threads = bench.load_shape(rate)
    with cpu_usage(bench.memory) as cpu:
        answered = run_wrk(
            script="purchase.lua",
            url=cm.url,
            duration=duration or bench.parameters.duration,
            connections=connections,
            threads=threads,
            headers=cm.headers(),
            variables={
                "BENCH_ACCOUNTS": str(accounts_file),
                "BENCH_RUN": f"{bench.run_id}-{name}",
                "BENCH_AMOUNT": bench.parameters.purchase_amount,
                "BENCH_REFERENCE": reference,
            },
            work_dir=bench.work_dir,
            name=name,
            rate=rate,
        )
    return answered, cpu


def _pgbench(bench: Bench, accounts: list[str], name: str) -> tuple[PgbenchResult, dict]:
    cm = bench.stack.credit_manager
    bench.wait_until_quiet(name)
    cm.query(f"DROP TABLE IF EXISTS {PICK_TABLE}")
    cm.query(f"CREATE TABLE {PICK_TABLE} (n integer PRIMARY KEY, id uuid NOT NULL)")
    try:
        cm.query(f"INSERT INTO {PICK_TABLE} SELECT n, id::uuid FROM unnest(%s::text[]) WITH ORDINALITY AS a(id, n)", [accounts])  # nosec B608 # a constant table name; the ids are a parameter
        with cpu_usage(bench.memory) as cpu:
            done = run_pgbench(
                database_url=cm.variables["DATABASE_URL"],
                script=PGBENCH_SCRIPT,
                duration=bench.parameters.duration,
                clients=bench.parameters.concurrency,
                threads=bench.parameters.threads,
                variables={"accounts": str(len(accounts)), "amount": bench.parameters.purchase_amount},
                work_dir=bench.work_dir,
                name=name,
            )
        return done, cpu
    finally:
        cm.query(f"DROP TABLE IF EXISTS {PICK_TABLE}")


def _posted(bench: Bench, account: str, reference: str) -> int:
    return bench.stack.credit_manager.query(
        "SELECT count(*) FROM ledger_ledgertransaction WHERE account_id = %s AND external_reference = %s", [account, reference]
    )[0][0]


def ledger_verdict(output: str) -> str:
    """verify_ledger's verdict (``ledger ok: ...`` or ``ledger MISMATCH: ...``), not the log lines around it."""
    verdicts = [line for line in output.splitlines() if line.startswith("ledger ")]
    return (verdicts[-1] if verdicts else output.splitlines()[-1] if output else "")[-500:]
