"""Write: ``POST /accounts/{id}/transactions`` purchases, spread over many accounts and all on one hot
account, against pgbench doing the same database work (``sql/purchase.sql``) on the same tables.

The order is pgbench spread, API spread, pgbench hot, API hot, each on an idle stack. Afterwards the
hot account's ledger is compared with the 201s wrk counted (none may be missing) and
``manage.py verify_ledger`` must find every balance equal to the sum of its ledger lines.
"""

from __future__ import annotations

from bench.config import BENCH_DIR, WRITE_MIN_RATIO
from bench.cpu import cpu_usage
from bench.model import Check, ScenarioResult, ratio
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
    bench.baselines["pgbench spread"] = {"result": spread_pg, "cpu": spread_pg_cpu, "accounts": len(accounts)}  # the authorization scenario's too
    spread_api, spread_api_cpu = _purchases(bench, accounts, "write-api-spread", reference=f"bench-{bench.run_id}-spread")
    hot_pg, _ = _pgbench(bench, hot, "write-pgbench-hot")
    hot_reference = f"bench-{bench.run_id}-hot"
    hot_api, _ = _purchases(bench, hot, "write-api-hot", reference=hot_reference)

    spread = {**spread_api.summary(201), "accounts": len(accounts)}
    spread["ratio"] = round(ratio(spread_api.rate(201), spread_pg.tps), 3)
    hot_figures = {**hot_api.summary(201), "ratio": round(ratio(hot_api.rate(201), hot_pg.tps), 3)}
    posted = _posted(bench, hot[0], hot_reference)
    answered = hot_api.count(201)
    errors = hot_api.requests - answered + hot_api.socket_errors
    hot_figures.update({"ledger rows": posted, "lost": max(answered - posted, 0), "posted but unanswered (in flight at the end)": max(posted - answered, 0)})
    ledger = bench.stack.credit_manager.manage("verify_ledger")
    result.figures.update({
        "pgbench spread": spread_pg.summary(),
        "api spread": spread,
        "cpu": {"pgbench spread": {**spread_pg_cpu, "transactions": spread_pg.transactions},
                "api spread": {**spread_api_cpu, "transactions": spread_api.count(201)}},
        "pgbench hot": hot_pg.summary(),
        "api hot": hot_figures,
        "verify_ledger": {"exit_code": ledger.returncode, "output": ledger_verdict(ledger.stdout + ledger.stderr)},
    })  # fmt: skip
    result.checks += [
        Check(
            metric="purchases spread, tx/s vs pgbench",
            value=f"{spread['ratio']:.0%} ({spread['per_second']:.0f} vs {spread_pg.tps:.0f} tx/s), p99 {spread['p99_ms']:.1f} ms",
            target=f"≥ {WRITE_MIN_RATIO:.0%}",
            met=spread["ratio"] >= WRITE_MIN_RATIO,
        ),
        Check(
            metric="purchases on one hot account",
            value=f"{hot_figures['per_second']:.0f} tx/s ({hot_figures['ratio']:.0%} of pgbench hot), p99 {hot_figures['p99_ms']:.1f} ms, "
            f"{errors} errors, {hot_figures['lost']} lost",
            target="no error, no lost transaction",
            met=errors == 0 and hot_figures["lost"] == 0 and ledger.returncode == 0,
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


def _purchases(bench: Bench, accounts: list[str], name: str, *, reference: str, duration: int | None = None) -> tuple[WrkResult, dict]:
    """The purchases wrk sends, and the CPU the machine used meanwhile (by process group)."""
    cm = bench.stack.credit_manager
    bench.wait_until_quiet(name)
    accounts_file = bench.work_dir / f"{name}.accounts"
    accounts_file.write_text("\n".join(accounts) + "\n")
    with cpu_usage(bench.memory) as cpu:
        answered = run_wrk(
            script="purchase.lua",
            url=cm.url,
            duration=duration or bench.parameters.duration,
            connections=bench.parameters.concurrency,
            threads=bench.parameters.threads,
            headers=cm.headers(),
            variables={
                "BENCH_ACCOUNTS": str(accounts_file),
                "BENCH_RUN": f"{bench.run_id}-{name}",
                "BENCH_AMOUNT": bench.parameters.purchase_amount,
                "BENCH_REFERENCE": reference,
            },
            work_dir=bench.work_dir,
            name=name,
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
