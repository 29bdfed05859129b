"""py-spy profiles of the stack while a scenario runs, and what they say in a few lines.

Profiles are recorded in a separate, shorter pass after the measured one (sampling costs CPU on a
2-core machine, so measured figures never carry it). The folded stacks are kept in ``results/``
(gzipped; render them with flamegraph.pl or speedscope); the report shows where the CPU went.
"""

from __future__ import annotations

import gzip
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.config import REPO_ROOT, RESULTS_DIR
from bench.tools import start_profile, stop_profile

TOP = 12
_SITE_PACKAGES = "site-packages/"


@contextmanager
def profiled(
    pid: int, *, stamp: str, name: str, into: list[dict[str, Any]], label: Callable[[int, str], str] | None = None
) -> Iterator[None]:
    """Record ``pid`` and its children while the block runs; the summary is appended to ``into``."""
    output = RESULTS_DIR / f"{stamp}-{name}.folded"
    recorder = start_profile(pid, output)
    time.sleep(1.0)  # py-spy attaches to every process first
    try:
        yield
    finally:
        message = stop_profile(recorder)
        if output.exists():
            summary = summarize(output, label) if label else summarize(output)
            into.append({"name": name, **summary, "file": keep(output)})
        else:
            print(f"bench: py-spy wrote no profile for {name}: {message[-500:]}", file=sys.stderr)


def summarize(folded: Path, label: Callable[[int, str], str] = lambda pid, command: command[:80]) -> dict[str, Any]:
    """Samples per process (named by ``label(pid, command)``), the functions the CPU was in (self), and our
    own functions including what they call."""
    by_process: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive_own: Counter[str] = Counter()
    total = 0
    for line in folded.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        process = None
        while frames and frames[0].startswith("process "):  # the ancestry, outermost first
            process = frames.pop(0)
        if process is not None:
            by_process[label(*_process_of(process))] += count
        if not frames:
            continue
        self_time[_frame(frames[-1])] += count
        for frame in {_frame(f) for f in frames if _is_own(f)}:
            inclusive_own[frame] += count
    return {
        "file": str(folded.relative_to(REPO_ROOT)) if folded.is_relative_to(REPO_ROOT) else str(folded),
        "samples": total,
        "by_process": _shares(by_process, total),
        "self": _shares(self_time, total),
        "own_inclusive": _shares(inclusive_own, total),
    }


def keep(folded: Path) -> str:
    """Store the folded stacks small enough to keep in the repository: paths relative to site-packages
    or the repository, gzipped (``zcat x.folded.gz | flamegraph.pl``). Returns the kept file's path."""
    text = folded.read_text(errors="replace")
    text = re.sub(r"/[^ ;()]*/site-packages/", "", text).replace(f"{REPO_ROOT}/", "")
    kept = folded.with_name(folded.name + ".gz")
    with gzip.open(kept, "wt") as output:
        output.write(text)
    folded.unlink()
    return str(kept.relative_to(REPO_ROOT)) if kept.is_relative_to(REPO_ROOT) else str(kept)


def _shares(counter: Counter[str], total: int) -> list[dict[str, Any]]:
    return [{"frame": name, "percent": round(100 * n / total, 1)} for name, n in counter.most_common(TOP)] if total else []


def _process_of(frame: str) -> tuple[int, str]:
    """``process 123:"granian --interface wsgi ..."`` -> (123, the command)."""
    head, _, command = frame.partition(":")
    return int(head.removeprefix("process ")), command.strip('"')


def _frame(frame: str) -> str:
    """``func (/long/path/site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py)``: lines apart, one function."""
    function, _, location = frame.partition(" (")
    path = location.rstrip(")").rpartition(":")[0] or location.rstrip(")")
    if _SITE_PACKAGES in path:
        path = path.split(_SITE_PACKAGES, 1)[1]
    elif path.startswith(str(REPO_ROOT)):
        path = path[len(str(REPO_ROOT)) + 1 :]
    else:
        path = path.rsplit("/lib/python3", 1)[-1].split("/", 1)[-1] if "/lib/python3" in path else path
    return f"{function} ({path})"


def _is_own(frame: str) -> bool:
    """A frame of the services' code (or common's), not of a library, the standard library or the local stack."""
    return str(REPO_ROOT) in frame and not any(part in frame for part in ("/.venv/", "/bench/", "/common/devstack/"))
