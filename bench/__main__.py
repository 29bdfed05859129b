"""``python -m bench`` (``make bench``): start the stack, run every scenario, write the results, stop the stack.

A scenario that fails is recorded as failed and the others still run; the stack is stopped however
the run ends (Ctrl-C and SIGTERM included). The cost growth (``GROWTH=1``) needs an empty system: it
runs last, on a fresh stack of its own.
"""

from __future__ import annotations

import shutil
import signal
import sys
import time
import traceback
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from types import FrameType, ModuleType
from typing import Any

from bench import environment, report
from bench.config import Parameters, parse_parameters
from bench.memory import MemorySampler
from bench.model import ScenarioResult
from bench.scenarios import authorization, consumer, growth, memory, pipeline, read, soak, write
from bench.session import Bench
from bench.stack import WORK_DIR, Stack, StackFailed, own_stack, running_stack
from bench.tools import ToolMissing, check_tools

# On one stack, in this order. The pipeline comes first: it creates the customers and accounts the reads,
# writes, authorizations and the soak use; write comes before authorization, which reuses write's pgbench
# baseline (as do the pipeline's ratios, computed once all ran); the soak, long, comes last.
SCENARIOS: tuple[ModuleType, ...] = (pipeline, read, write, authorization, consumer, soak)
ON_A_FRESH_STACK: tuple[ModuleType, ...] = (growth,)


def main(argv: list[str]) -> int:
    parameters = parse_parameters(argv)
    try:
        check_tools()
    except ToolMissing as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    run: dict[str, Any] = {
        "stamp": started_at.strftime("%Y-%m-%dT%H%M%SZ"),
        "started_at": started_at.isoformat(timespec="seconds"),
        "parameters": parameters.as_dict(),
        "machine": environment.machine(),
        "git": environment.git_state(),
        "notes": [],
    }
    run_id = started_at.strftime("%Y%m%d%H%M%S")
    results: list[ScenarioResult] = []
    prepare = fresh_work_dir  # the first stack started clears the scratch files of the previous run
    try:
        chosen = _chosen(SCENARIOS, parameters)
        if chosen:
            with _stack(parameters, prepare) as stack:
                bench = _bench(stack, parameters, run, run_id)
                results += run_scenarios(bench, chosen)
                run["notes"] += bench.notes
            prepare = _keep_work_dir
        for module in _chosen(ON_A_FRESH_STACK, parameters):
            with own_stack(prepare, work_dir=WORK_DIR / _name(module)) as stack:
                bench = _bench(stack, parameters, run, f"{run_id}{_name(module)[0]}")
                results += run_on_fresh_stack(bench, module)
                run["notes"] += [f"{_name(module)} (on a fresh stack of its own): {note}" for note in bench.notes]
            prepare = _keep_work_dir
    except (StackFailed, KeyboardInterrupt) as error:
        print(f"bench: {error or 'interrupted'}", file=sys.stderr)
        return 1
    run["machine"]["load_after"] = environment.load_average()
    run["duration_s"] = round(time.monotonic() - clock, 1)
    json_path, markdown_path = report.write(run, results)
    print(markdown_path.read_text())
    print(f"bench: wrote {json_path.relative_to(json_path.parents[2])} and {markdown_path.relative_to(markdown_path.parents[2])}")
    return 1 if any(result.error for result in results) else 0


def _chosen(modules: tuple[ModuleType, ...], parameters: Parameters) -> list[ModuleType]:
    return [module for module in modules if _name(module) in parameters.scenarios]


def _stack(parameters: Parameters, prepare: Any) -> AbstractContextManager[Stack]:
    return own_stack(prepare) if parameters.stack == "own" else nullcontext(running_stack(prepare))


def _bench(stack: Stack, parameters: Parameters, run: dict[str, Any], run_id: str) -> Bench:
    """The run's view of a stack it just started; the run's versions and stack come from the first one."""
    stack.issue_api_keys(run_id)
    run.setdefault("versions", environment.versions(stack))
    run.setdefault("stack", environment.stack_configuration(stack, parameters.stack))
    return Bench(stack=stack, parameters=parameters, run_id=run_id, stamp=run["stamp"], work_dir=WORK_DIR, memory=MemorySampler(stack))


def fresh_work_dir() -> None:
    """Scratch files of this run only (wrk reports, pgbench logs, the stack's logs)."""
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    WORK_DIR.mkdir(parents=True)


def _keep_work_dir() -> None:
    WORK_DIR.mkdir(parents=True, exist_ok=True)


def run_scenarios(bench: Bench, chosen: list[ModuleType]) -> list[ScenarioResult]:
    bench.memory.start()
    try:
        _measure_rest(bench)
        results = [_measure(module, bench) for module in chosen]
    finally:
        bench.memory.stop()
    for module, result in zip(chosen, results, strict=True):
        if module is pipeline:
            pipeline.relate_to_pgbench(bench, result)  # write's pgbench run, measured after the pipeline
    for module, result in zip(chosen, list(results), strict=True):
        profile = bench.parameters.profile
        if hasattr(module, "profile") and (profile == "all" or (profile == "missed" and result.missed)):
            _profile(module, bench, result)
    results.append(memory.result(bench))
    return results


def run_on_fresh_stack(bench: Bench, module: ModuleType) -> list[ScenarioResult]:
    """One scenario on a stack of its own (no profile: what it measures takes minutes, not seconds)."""
    bench.memory.start()
    try:
        return [_measure(module, bench)]
    finally:
        bench.memory.stop()


def _name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def _measure_rest(bench: Bench) -> None:
    try:
        memory.measure_rest(bench)
    except Exception as error:  # noqa: BLE001 - the other scenarios still run
        traceback.print_exc()
        bench.notes.append(f"memory at rest not measured: {type(error).__name__}: {error}")


def _measure(module: ModuleType, bench: Bench) -> ScenarioResult:
    name = _name(module)
    print(f"bench: {name} ...", file=sys.stderr)
    started = time.monotonic()
    try:
        result = module.run(bench)
    except Exception as error:  # noqa: BLE001 - one broken scenario must not hide the others' figures
        traceback.print_exc()
        result = ScenarioResult(name, error=f"{type(error).__name__}: {error}")
    result.seconds = round(time.monotonic() - started, 1)
    print(f"bench: {name} done in {result.seconds:.0f} s", file=sys.stderr)
    return result


def _profile(module: ModuleType, bench: Bench, result: ScenarioResult) -> None:
    print(f"bench: profiling {result.name} ...", file=sys.stderr)
    try:
        module.profile(bench, result)
    except Exception as error:  # noqa: BLE001 - a profile that cannot be taken is a note, not a failure
        traceback.print_exc()
        result.notes.append(f"profile not taken: {type(error).__name__}: {error}")


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C: the stack is stopped on the way out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
