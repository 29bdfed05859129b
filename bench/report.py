"""The run's record: ``results/<stamp>.json`` (everything), ``results/<stamp>.md`` and ``results/latest.md``
(the tables), and the latest tables in ``bench/README.md`` between its markers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.config import BENCH_DIR, DEFAULT_SCENARIOS, RESULTS_DIR, TARGETS
from bench.model import Check, ScenarioResult

README = BENCH_DIR / "README.md"
START_MARKER = "<!-- latest-results:start (written by make bench) -->"
END_MARKER = "<!-- latest-results:end -->"
ASKED_FOR = {"soak": "make bench SOAK=1", "growth": "make bench GROWTH=1"}


def write(run: dict[str, Any], scenarios: list[ScenarioResult]) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    targets = target_rows(run, scenarios)
    record = {**run, "targets": targets, "scenarios": [scenario.as_dict() for scenario in scenarios]}
    json_path = RESULTS_DIR / f"{run['stamp']}.json"
    json_path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    markdown = render(run, scenarios, targets)
    markdown_path = RESULTS_DIR / f"{run['stamp']}.md"
    markdown_path.write_text(markdown)
    (RESULTS_DIR / "latest.md").write_text(markdown)
    parameters = run["parameters"]
    if set(DEFAULT_SCENARIOS) <= set(parameters["scenarios"]) and not parameters["quick"]:  # a partial or QUICK run leaves the README's
        _update_readme(markdown)
    return json_path, markdown_path


def target_rows(run: dict[str, Any], scenarios: list[ScenarioResult]) -> list[dict[str, Any]]:
    """The targets table: the issue's figures in its order (each one, measured or not), then every other check
    (authorization's, and the no-error, nothing-lost checks) in the order the scenarios ran, then failures."""
    by_key = {check.key: (scenario, check) for scenario in scenarios for check in scenario.checks if check.key}
    by_name = {scenario.name: scenario for scenario in scenarios}
    rows = []
    for target in TARGETS:
        if target.key in by_key:
            scenario, check = by_key[target.key]
            rows.append(_row(scenario.name, check))
            continue
        ran = by_name.get(target.scenario)
        if target.scenario not in run["parameters"]["scenarios"] and target.scenario in ASKED_FOR:
            why = f"not measured: `{ASKED_FOR[target.scenario]}`"
        elif ran is None:
            why = f"not measured: the {target.scenario} scenario did not run"
        elif ran.error:
            why = "not measured: the scenario failed"
        else:
            why = "not measured"
        rows.append({"scenario": target.scenario, "key": target.key, "figure": target.figure, "measured": why, "target": target.target, "met": None})
    for scenario in scenarios:
        rows += [_row(scenario.name, check) for check in scenario.checks if not check.key]
    for scenario in scenarios:
        if scenario.error:
            rows.append({"scenario": scenario.name, "key": None, "figure": "the scenario ran", "measured": f"failed: {scenario.error}",
                         "target": "runs", "met": False})  # fmt: skip
    return rows


def _row(scenario: str, check: Check) -> dict[str, Any]:
    return {"scenario": scenario, "key": check.key, "figure": check.metric, "measured": check.value, "target": check.target, "met": check.met}


def render(run: dict[str, Any], scenarios: list[ScenarioResult], targets: list[dict[str, Any]]) -> str:
    by_name = {scenario.name: scenario for scenario in scenarios}
    lines = [f"# Benchmark run {run['started_at']}", "", *_header(run), "", "## Targets", "",
             "The issue's figures first, in its order (every ratio against a baseline of this run), then the other checks.", "",
             "| scenario | figure | measured | target | met |", "|---|---|---|---|---|"]  # fmt: skip
    for row in targets:
        met = "—" if row["met"] is None else "✅" if row["met"] else "❌"
        lines.append(f"| {row['scenario']} | {_cell(row['figure'])} | {_cell(row['measured'])} | {_cell(row['target'])} | {met} |")
    renderers = (("read", _read), ("write", _write), ("authorization", _authorization), ("pipeline", _pipeline), ("consumer", _consumer),
                 ("soak", _soak), ("growth", _growth), ("memory", _memory))  # fmt: skip
    for name, renderer in renderers:
        scenario = by_name.get(name)
        if scenario is not None and scenario.figures:
            lines += ["", f"## {name.capitalize()}", "", *renderer(scenario.figures)]
    profiles = [profile for scenario in scenarios for profile in scenario.profiles]
    if profiles:
        lines += ["", "## Profiles (py-spy, CPU samples; a separate shorter pass)", ""]
        for profile in profiles:
            lines += _profile(profile)
    notes = run.get("notes", []) + [f"{s.name}: {note}" for s in scenarios for note in s.notes]
    if notes:
        lines += ["", "## Notes", "", *(f"- {_cell(note)}" for note in notes)]
    return "\n".join(lines) + "\n"


def _header(run: dict[str, Any]) -> list[str]:
    machine, versions, parameters, stack = run["machine"], run.get("versions", {}), run["parameters"], run.get("stack", {})
    extra = ""
    if "soak" in parameters["scenarios"]:
        extra += f", a soak of {parameters['soak_minutes']} min"
    if "growth" in parameters["scenarios"]:
        extra += f", cost growth up to {parameters['growth_customers']:,} customers"
    return [
        f"- Commit {run['git']}; took {run['duration_s'] / 60:.1f} min.",
        f"- Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB, "
        f"load average {machine['load_before']} before and {machine['load_after']} after.",
        f"- Parameters: duration {parameters['duration']} s, concurrency {parameters['concurrency']}, "
        f"{parameters['customers']:,} customers, {parameters['events']:,} events, {parameters['threads']} load threads, "
        f"purchases of {parameters['purchase_amount']}{extra}{' (QUICK)' if parameters['quick'] else ''}; "
        f"scenarios: {', '.join(parameters['scenarios'])}.",
        f"- Stack ({stack.get('mode', '?')}): granian {stack.get('api_workers', '?')} workers of one thread and Celery "
        f"{stack.get('celery_concurrency', '?')} processes per service; process output: {stack.get('process_output', '?')}; "
        f"Postgres {versions.get('postgres', '?')}, Redis {versions.get('redis', '?')}, {versions.get('kafka', '?')}.",
        "- Versions: " + ", ".join(f"{name} {version}" for name, version in versions.items() if name not in ("postgres", "redis", "kafka")) + ".",
    ]


def _read(figures: dict[str, Any]) -> list[str]:
    lines = ["| endpoint | req/s | vs trivial | p50 ms | p90 ms | p99 ms | statuses | socket errors |", "|---|---|---|---|---|---|---|---|"]
    for name, f in figures.items():
        ratio = f"{f['ratio']:.0%}" if "ratio" in f else "baseline"
        lines.append(f"| {name} | {f['per_second']:.0f} | {ratio} | {f['p50_ms']:.1f} | {f['p90_ms']:.1f} | {f['p99_ms']:.1f} | {_statuses(f)} | {f['socket_errors']} |")
    return lines


def _write(figures: dict[str, Any]) -> list[str]:
    lines = ["| run | tx/s | vs pgbench | p50 ms | p99 ms | outcome |", "|---|---|---|---|---|---|"]
    for name in ("pgbench spread", "api spread", "api steady rate", "pgbench hot", "api hot"):
        f = figures[name]
        if name.startswith("pgbench"):
            lines.append(f"| {name} | {f['per_second']:.0f} | baseline | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} | {f['transactions']} transactions, {f['failed']} failed |")
        elif name == "api steady rate":
            lines.append(f"| api spread at a steady {f['asked_per_second']:.0f}/s | {f['per_second']:.1f} | {f['achieved']:.0%} of asked | "
                         f"{f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {_statuses(f)}, {f['socket_errors']} socket errors |")  # fmt: skip
        else:
            extra = f", {f['accounts']} accounts" if "accounts" in f else f", {f['ledger rows']} ledger rows, {f['lost']} lost"
            lines.append(f"| {name} | {f['per_second']:.0f} | {f['ratio']:.0%} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {_statuses(f)}{extra} |")
    ledger = figures["verify_ledger"]
    lines += ["", f"`manage.py verify_ledger` after the runs: exit {ledger['exit_code']} ({_cell(ledger['output'])})."]
    cpu_ratio = figures.get("cpu per purchase vs pgbench transaction")
    if cpu_ratio and cpu_ratio["transaction_ms"] and cpu_ratio["purchase_ms"]:
        lines += ["", f"CPU per purchase (api spread): {cpu_ratio['purchase_ms']:.2f} ms, {cpu_ratio['ratio']:.1f}× pgbench's "
                  f"{cpu_ratio['transaction_ms']:.2f} ms per transaction (the machine's busy time, every process and the load tool included)."]  # fmt: skip
    for run, cpu in figures.get("cpu", {}).items():
        lines += ["", f"**{run}**. " + "\n".join(_cpu(cpu, done=cpu["transactions"], what="transaction"))]
    return lines


def _authorization(figures: dict[str, Any]) -> list[str]:
    pg, closed, steady = figures["pgbench spread"], figures["closed loop"], figures["steady rate"]
    lines = [
        "| run | approvals/s | vs pgbench | p50 ms | p90 ms | p99 ms | outcome |",
        "|---|---|---|---|---|---|---|",
        f"| pgbench spread ({pg['source']}) | {pg['per_second']:.0f} | baseline | {pg['p50_ms']:.2f} | {pg['p90_ms']:.2f} | "
        f"{pg['p99_ms']:.2f} | {pg['transactions']} transactions, {pg['failed']} failed |",
    ]
    for name, f in (("api closed loop", closed), (f"api steady rate, {steady['asked_per_second']:.1f}/s asked", steady)):
        vs = f"{f['ratio']:.0%}" if "ratio" in f else f"{f['achieved']:.0%} of asked"
        extra = f", {f['accounts']} accounts" if "accounts" in f else ""
        lines.append(
            f"| {name} | {f['per_second']:.1f} | {vs} | {f['p50_ms']:.1f} | {f['p90_ms']:.1f} | {f['p99_ms']:.1f} | "
            f"{_statuses(f)}; {f['approved']:,} approved, {f['declined']} declined, {f['socket_errors']} socket errors, "
            f"{f['lost']} lost{extra} |"
        )
    ledger = figures["verify_ledger"]
    lines += ["", f"`manage.py verify_ledger` after the runs: exit {ledger['exit_code']} ({_cell(ledger['output'])})."]
    cpu_ratio = figures.get("cpu per approval vs pgbench transaction")
    if cpu_ratio and cpu_ratio["transaction_ms"] and cpu_ratio["approval_ms"]:
        lines += ["", f"CPU per approved authorization: {cpu_ratio['approval_ms']:.2f} ms, {cpu_ratio['ratio']:.1f}× pgbench's "
                  f"{cpu_ratio['transaction_ms']:.2f} ms per transaction."]  # fmt: skip
    for run, cpu in figures.get("cpu", {}).items():
        if run.startswith("pgbench") and pg["source"].startswith("write"):
            continue  # under Write already
        what = "transaction" if run.startswith("pgbench") else "approval"
        lines += ["", f"**{run}**. " + "\n".join(_cpu(cpu, done=cpu["transactions"], what=what))]
    return lines


def _pipeline(figures: dict[str, Any]) -> list[str]:
    steady = figures.get("steady intake")
    lines = [
        f"**Burst**: {figures['customers created (201)']:,} of {figures['customers requested']:,} customers created, "
        f"{figures['customers with a credit summary']:,} with their credit summary after {figures['elapsed_s']:.1f} s: "
        f"**{figures['customers_per_second']:.0f} customers/s end to end** (the API accepted {figures['api accepted/s']:.0f}/s); "
        f"{figures['lost']} lost, {figures['duplicated']} duplicated.",
    ]
    related = figures.get("vs pgbench")
    if related:
        lines += ["", f"Against pgbench spread ({related['pgbench source']}, {related['pgbench spread tx/s']:.0f} tx/s): "
                  f"{related['customers/s vs pgbench tx/s']:.1%} of its rate; {related['cpu per customer_ms']:.2f} ms of CPU per customer, "
                  f"{related['cpu per customer vs pgbench transaction']:.1f}× its {related['cpu per pgbench transaction_ms']:.2f} ms per transaction."]  # fmt: skip
    if steady:
        lines += ["", f"**Steady intake**: {steady['customers requested']:,} customers asked at {steady['asked_per_second']:.1f}/s "
                  f"(a quarter of the burst's rate), accepted at {steady['api accepted/s']:.1f}/s ({steady['achieved']:.0%}); "
                  f"{steady['customers with a credit summary']:,} with their summary, {steady['lost']} lost, {steady['duplicated']} duplicated."]  # fmt: skip
    header = "| stage | burst p50 | burst p99 |" + (" steady p50 | steady p99 |" if steady else "")
    lines += ["", header, "|---|---|---|" + ("---|---|" if steady else "")]
    for stage, f in figures["stages"].items():
        row = f"| {stage} | {_seconds(f['p50_s'])} | {_seconds(f['p99_s'])} |"
        if steady:
            s = steady["stages"][stage]
            row += f" {_seconds(s['p50_s'])} | {_seconds(s['p99_s'])} |"
        lines.append(row)
    if figures.get("cpu"):
        lines += ["", "Burst. " + "\n".join(_cpu(figures["cpu"], done=figures["customers with a credit summary"], what="customer"))]
    return lines


def _cpu(cpu: dict[str, Any], *, done: int, what: str) -> list[str]:
    """Where the machine's CPU went during a run, in total and per unit of work done."""
    if not done:
        return []
    lines = [f"CPU over those {cpu['window_s']:.1f} s: the machine was {cpu['busy_share']:.0%} busy "
             f"({cpu['busy_s']:.1f} CPU-s of {cpu['cores']} cores), {1000 * cpu['busy_s'] / done:.2f} ms per {what}:",
             "", f"| where | CPU s | ms per {what} | share |", "|---|---|---|---|"]  # fmt: skip
    for where, seconds in cpu["groups"].items():
        if seconds >= 0.05:
            share = seconds / cpu["busy_s"] if cpu["busy_s"] else 0.0
            lines.append(f"| {where} | {seconds:.1f} | {1000 * seconds / done:.2f} | {share:.0%} |")
    return lines


def _consumer(figures: dict[str, Any]) -> list[str]:
    lines = ["| reader | events/s | measured | vs raw |", "|---|---|---|---|"]
    for name in ("raw kafka-python", "consume_kafka (EventConsumer + Celery hand-off)"):
        f = figures[name]
        ratio = "baseline" if name.startswith("raw") else f"{figures['ratio']:.0%}"
        lines.append(f"| {name} | {f['per_second']:.0f} | {f['measured_messages']:,} in {f['measured_s']:.1f} s | {ratio} |")
    rounds = figures.get("ratio of each round", [figures["ratio"]])
    lines += ["", f"{figures['events']:,} `user.created` events produced in {figures['produce_s']:.1f} s, then read in "
              f"{len(rounds)} rounds of raw and consume_kafka side by side; the round shown is the median "
              f"(ratios {', '.join(f'{r:.0%}' for r in rounds)}). {figures['events in those tasks']:,} events reached the "
              f"Celery queue in {figures['tasks handed to Celery']:,} tasks (purged after each round)."]  # fmt: skip
    return lines


def _soak(figures: dict[str, Any]) -> list[str]:
    customers = figures["customers"]
    lines = [f"{figures['minutes']} minutes ({figures['seconds']:.0f} s) of a steady mixed load, all parts at once:", "",
             "| part | asked /s | achieved /s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|"]  # fmt: skip
    for part, f in figures["load"].items():
        errors = figures["errors"].get(part, f"{customers['lost']} lost, {customers['duplicated']} duplicated")
        lines.append(f"| {part} | {f['asked_per_second']:g} | {f['per_second']:.1f} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {errors} |")
    e2e = figures["load"]["new customers"].get("end to end")
    if e2e:
        lines += ["", f"New customers: {customers['created']:,} created, {customers['completed']:,} with their summary; "
                  f"end to end p50 {_seconds(e2e['p50_s'])}, p99 {_seconds(e2e['p99_s'])}."]  # fmt: skip
    lines += ["", "Memory of each process, peak in the first minute and in the last (Postgres: private memory, RSS less its shared part):", "",
              "| process | first minute MB | last minute MB | growth | RSS first → last MB |", "|---|---|---|---|---|"]  # fmt: skip
    for row in figures["growth"]:
        growth = f"{row['growth']:+.1%}" if row["judged"] else f"({row['growth']:+.1%}, not judged: {row['left out']})"
        lines.append(f"| {row['process']} | {row['first_mb']:.1f} | {row['last_mb']:.1f} | {growth} | {row['first_rss_mb']:.0f} → {row['last_rss_mb']:.0f} |")
    if figures.get("cpu"):
        lines += ["", "\n".join(_cpu(figures["cpu"], done=round(figures["cpu"]["window_s"]), what="second"))]
    return lines


def _growth(figures: dict[str, Any]) -> list[str]:
    load = figures["load"]
    lines = ["| measurement | customers in the system | customers/s end to end | end to end p99 | CPU ms per customer |", "|---|---|---|---|---|"]
    for name, label in (("empty", "empty system"), ("full", "after loading")):
        f = figures[name]
        lines.append(f"| {label} | {f['customers in the system before']:,} | {f['customers_per_second']:.0f} | {_seconds(f['end to end']['p99_s'])} | "
                     f"{f['cpu per customer_ms']:.2f} |")  # fmt: skip
    lines += ["", f"CPU per customer after loading ÷ on the empty system: **{figures['cpu per customer ratio']:.2f}** "
              f"({figures['customers per measurement']:,} customers each time). Loading {load['customers']:,} customers in "
              f"{load['batches']} batch{'es' if load['batches'] != 1 else ''} took {load['seconds']:.0f} s ({load['customers_per_second']:.0f}/s); "
              f"{load['lost']} lost, {load['duplicated']} duplicated."]  # fmt: skip
    return lines


def _memory(figures: dict[str, Any]) -> list[str]:
    """One row per process, but Postgres backends grouped by database (their number varies)."""
    groups: dict[str, list[dict]] = {}
    for row in figures["processes"]:
        key = re.sub(r" \d+$", "", row["process"]) if row["process"].startswith("postgres backend") else row["process"]
        groups.setdefault(key, []).append(row)
    phases = ("rest", "pipeline", *(("soak",) if any("soak_mb" in row for row in figures["processes"]) else ()), "run")
    titles = {"rest": "at rest MB", "pipeline": "during pipeline MB", "soak": "during soak MB", "run": "whole run MB"}
    lines = ["| process | " + " | ".join(titles[phase] for phase in phases) + " |", "|---|" + "---|" * len(phases)]
    for name, rows in sorted(groups.items(), key=lambda item: -max(r.get("run_mb", 0) for r in item[1])):
        label = f"{name} (×{len(rows)}, largest)" if len(rows) > 1 and name.startswith("postgres backend") else name
        cells = [_mb(max((r.get(f"{phase}_mb") for r in rows if r.get(f"{phase}_mb") is not None), default=None)) for phase in phases]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return lines


def _profile(profile: dict[str, Any]) -> list[str]:
    lines = [f"### {profile['name']} — `{profile['file']}` ({profile['samples']:,} samples)", ""]
    for title, key in (("by process", "by_process"), ("where the CPU was (self)", "self"), ("our code, including what it calls", "own_inclusive")):
        if profile.get(key):
            lines.append(f"- {title}: " + "; ".join(f"{_cell(entry['frame'])} {entry['percent']}%" for entry in profile[key][:8]))
    return lines + [""]


def _update_readme(markdown: str) -> None:
    if not README.exists():
        return
    text = README.read_text()
    if START_MARKER not in text or END_MARKER not in text:
        return
    body = re.sub(r"^(#+) ", r"\1## ", markdown, flags=re.MULTILINE)  # under the README's own section heading
    before, rest = text.split(START_MARKER, 1)
    after = rest.split(END_MARKER, 1)[1]
    README.write_text(f"{before}{START_MARKER}\n\n{body}\n{END_MARKER}{after}")


def _statuses(figures: dict[str, Any]) -> str:
    return ", ".join(f"{status}: {n:,}" for status, n in figures["statuses"].items()) or "none"


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.2f} s"


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
