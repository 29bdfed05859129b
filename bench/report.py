"""The run's record: ``results/<stamp>.json`` (everything), ``results/<stamp>.md`` and ``results/latest.md``
(the tables), and the latest tables in ``bench/README.md`` between its markers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.config import BENCH_DIR, RESULTS_DIR, SCENARIO_NAMES
from bench.model import ScenarioResult

README = BENCH_DIR / "README.md"
START_MARKER = "<!-- latest-results:start (written by make bench) -->"
END_MARKER = "<!-- latest-results:end -->"


def write(run: dict[str, Any], scenarios: list[ScenarioResult]) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {**run, "scenarios": [scenario.as_dict() for scenario in scenarios]}
    json_path = RESULTS_DIR / f"{run['stamp']}.json"
    json_path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    markdown = render(run, scenarios)
    markdown_path = RESULTS_DIR / f"{run['stamp']}.md"
    markdown_path.write_text(markdown)
    (RESULTS_DIR / "latest.md").write_text(markdown)
    if list(run["parameters"]["scenarios"]) == list(SCENARIO_NAMES):  # a partial run does not replace the README's
        _update_readme(markdown)
    return json_path, markdown_path


def render(run: dict[str, Any], scenarios: list[ScenarioResult]) -> str:
    by_name = {scenario.name: scenario for scenario in scenarios}
    lines = [f"# Benchmark run {run['started_at']}", "", *_header(run), "", "## Targets", "",
             "| scenario | measured | target | met |", "|---|---|---|---|"]  # fmt: skip
    for scenario in scenarios:
        if scenario.error:
            lines.append(f"| {scenario.name} | failed: {_cell(scenario.error)} | | ❌ |")
        for check in scenario.checks:
            lines.append(f"| {scenario.name} | {check.metric}: {check.value} | {check.target} | {'✅' if check.met else '❌'} |")
    renderers = (("read", _read), ("write", _write), ("authorization", _authorization), ("pipeline", _pipeline), ("consumer", _consumer),
                 ("memory", _memory))  # fmt: skip
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
    machine, versions, parameters, stack = run["machine"], run["versions"], run["parameters"], run["stack"]
    return [
        f"- Commit {run['git']}; took {run['duration_s'] / 60:.1f} min.",
        f"- Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB, "
        f"load average {machine['load_before']} before and {machine['load_after']} after.",
        f"- Parameters: duration {parameters['duration']} s, concurrency {parameters['concurrency']}, "
        f"{parameters['customers']:,} customers, {parameters['events']:,} events, {parameters['threads']} load threads, "
        f"purchases of {parameters['purchase_amount']}{' (QUICK)' if parameters['quick'] else ''}; "
        f"scenarios: {', '.join(parameters['scenarios'])}.",
        f"- Stack ({stack['mode']}): gunicorn {stack['gunicorn_workers']} sync workers and Celery {stack['celery_concurrency']} "
        f"processes per service; Postgres {versions.get('postgres', '?')}, Redis {versions.get('redis', '?')}, {versions.get('kafka', '?')}.",
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
    for name in ("pgbench spread", "api spread", "pgbench hot", "api hot"):
        f = figures[name]
        if name.startswith("pgbench"):
            lines.append(f"| {name} | {f['per_second']:.0f} | baseline | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} | {f['transactions']} transactions, {f['failed']} failed |")
        else:
            extra = f", {f['accounts']} accounts" if "accounts" in f else f", {f['ledger rows']} ledger rows, {f['lost']} lost"
            lines.append(f"| {name} | {f['per_second']:.0f} | {f['ratio']:.0%} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {_statuses(f)}{extra} |")
    ledger = figures["verify_ledger"]
    lines += ["", f"`manage.py verify_ledger` after the runs: exit {ledger['exit_code']} ({_cell(ledger['output'])})."]
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
        lines += ["", f"CPU per approved authorization: {cpu_ratio['approval_ms']:.2f} ms, {cpu_ratio['ratio']:.0f}× pgbench's "
                  f"{cpu_ratio['transaction_ms']:.2f} ms per transaction."]  # fmt: skip
    for run, cpu in figures.get("cpu", {}).items():
        if run.startswith("pgbench") and pg["source"].startswith("write"):
            continue  # under Write already
        what = "transaction" if run.startswith("pgbench") else "approval"
        lines += ["", f"**{run}**. " + "\n".join(_cpu(cpu, done=cpu["transactions"], what=what))]
    return lines


def _pipeline(figures: dict[str, Any]) -> list[str]:
    lines = [
        f"{figures['customers created (201)']:,} of {figures['customers requested']:,} customers created, "
        f"{figures['customers with a credit summary']:,} with their credit summary after {figures['elapsed_s']:.1f} s: "
        f"**{figures['customers_per_second']:.0f} customers/s end to end** (the API accepted {figures['api accepted/s']:.0f}/s); "
        f"{figures['lost']} lost, {figures['duplicated']} duplicated.",
        "",
        "| stage | p50 | p99 |",
        "|---|---|---|",
    ]
    for stage, f in figures["stages"].items():
        lines.append(f"| {stage} | {_seconds(f['p50_s'])} | {_seconds(f['p99_s'])} |")
    if figures.get("cpu"):
        lines += ["", *_cpu(figures["cpu"], done=figures["customers with a credit summary"], what="customer")]
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
    lines += ["", f"{figures['events']:,} `user.created` events produced in {figures['produce_s']:.1f} s; "
              f"{figures['events in those tasks']:,} events reached the Celery queue in {figures['tasks handed to Celery']:,} tasks (then purged)."]  # fmt: skip
    return lines


def _memory(figures: dict[str, Any]) -> list[str]:
    """One row per process, but Postgres backends grouped by database (their number varies)."""
    groups: dict[str, list[dict]] = {}
    for row in figures["processes"]:
        key = re.sub(r" \d+$", "", row["process"]) if row["process"].startswith("postgres backend") else row["process"]
        groups.setdefault(key, []).append(row)
    lines = ["| process | at rest MB | during pipeline MB | whole run MB |", "|---|---|---|---|"]
    for name, rows in sorted(groups.items(), key=lambda item: -max(r.get("run_mb", 0) for r in item[1])):
        label = f"{name} (×{len(rows)}, largest)" if len(rows) > 1 and name.startswith("postgres backend") else name
        cells = [_mb(max((r.get(f"{phase}_mb") for r in rows if r.get(f"{phase}_mb") is not None), default=None)) for phase in ("rest", "pipeline", "run")]
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
