"""Peak RSS (and CPU time used) of every process of the stack, sampled every half second in a background thread.

Samples are tagged with the current phase (``rest``, ``pipeline``); every sample also counts for the
whole run. While :meth:`MemorySampler.recording` is on (the soak), every sample is also kept, so RSS
can be followed over time. Each process gets a readable label: ``um-api`` (granian's main process),
``um-api worker 2``, ``cm-queue child 1`` (Celery pool and beat processes), ``postgres backend
(credit_manager) 3`` ...
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

from bench.stack import SHELLS, Stack

INTERVAL_SECONDS = 0.5
MB = 1024 * 1024
ROLES = {"granian": "api", "consume_kafka": "kafka", "relay_outbox": "relay", "celery": "queue"}
_BACKEND = re.compile(r"postgres: \S+ (\S+) (\[local\]|[0-9.:]+)")  # user, database, client


@dataclass
class Tracked:
    pid: int
    label: str
    command: str
    peaks: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    """CPU time (user + system) used so far, as last sampled: what a process that ended had used."""
    series: list[tuple[float, int, int]] = field(default_factory=list)
    """While recording: (monotonic seconds, RSS, its shared part: file-backed and shared memory pages) of each sample."""


class MemorySampler:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.phase: str | None = None
        self.tracked: dict[int, Tracked] = {}
        self._numbers: dict[str, int] = defaultdict(int)
        self._recording = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @contextmanager
    def during(self, phase: str) -> Iterator[None]:
        self.phase = phase
        try:
            yield
        finally:
            self.phase = None

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Keep every sample of every process (``Tracked.series``) while the block runs."""
        self._recording = True
        try:
            yield
        finally:
            self._recording = False

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(INTERVAL_SECONDS)

    def sample(self) -> None:
        phases = ["run"] + ([self.phase] if self.phase else [])
        for process in self.stack.processes():
            try:
                if not process.cmdline():
                    continue  # a zombie, or a process on its way out
                memory = process.memory_info()
                rss = memory.rss
                times = process.cpu_times()
                tracked = self.tracked.get(process.pid) or self._track(process)
            except psutil.Error:
                continue  # it ended between the listing and the reading
            tracked.cpu_seconds = times.user + times.system
            if self._recording:
                tracked.series.append((time.monotonic(), rss, getattr(memory, "shared", 0)))
            for phase in phases:
                tracked.peaks[phase] = max(tracked.peaks.get(phase, 0), rss)

    def _track(self, process: psutil.Process) -> Tracked:
        label, numbered = self._label(process)
        if numbered:
            self._numbers[label] += 1
            label = f"{label} {self._numbers[label]}"
        tracked = Tracked(pid=process.pid, label=label, command=" ".join(process.cmdline())[:200])
        self.tracked[process.pid] = tracked
        return tracked

    def _label(self, process: psutil.Process) -> tuple[str, bool]:
        """The process's name in the report, and whether it is one of several alike (numbered)."""
        if process.pid == self.stack.root_pid:
            return "devstack run", False
        command = " ".join(process.cmdline())
        if "common.devstack" in command:
            return "devstack run child (honcho's log relay)", True  # under `make run`, honcho relays each process's output from a child
        if process.name() == "postgres" or command.startswith("postgres"):
            backend = _BACKEND.match(command)
            if backend:
                return f"postgres backend ({backend.group(1)})", True
            parent = process.parent()
            if parent is None or parent.name() != "postgres":
                return "postgres (postmaster)", False
            helper = re.sub(r" for PID \d+| \d+$", "", command.removeprefix("postgres: ").strip())
            return f"postgres {helper}", helper.startswith("parallel worker")  # checkpointer, walwriter, ...
        if process.name().startswith("redis") or "redis-server" in command:
            parent = process.parent()
            forked = parent is not None and parent.name().startswith("redis")
            return ("redis (child saving to disk)", True) if forked else ("redis", False)
        if "tansu" in command:
            return "kafka (tansu)", False
        service = _service_prefix(process, self.stack)
        role = next((name for marker, name in ROLES.items() if marker in command), None)
        if service is None or role is None:
            return f"other: {process.name()}", True
        if process.name() in SHELLS:
            return f"{service}-{role} (shell)", False
        parent = process.parent()
        if parent is not None and parent.name() not in SHELLS and role == next((name for marker, name in ROLES.items() if marker in " ".join(parent.cmdline())), None):
            return f"{service}-{role} {'worker' if role == 'api' else 'child'}", True
        return f"{service}-{role}", False

    def label_of(self, pid: int, command: str) -> str:
        """The report's name for ``pid`` (e.g. in a profile); its command when it was never sampled."""
        tracked = self.tracked.get(pid)
        return tracked.label if tracked else command[:80]

    def rows(self) -> list[dict]:
        return [
            {"pid": t.pid, "process": t.label, "command": t.command, **{f"{phase}_mb": round(rss / MB, 1) for phase, rss in t.peaks.items()}}
            for t in sorted(self.tracked.values(), key=lambda t: t.label)
        ]


def _service_prefix(process: psutil.Process, stack: Stack) -> str | None:
    try:
        cwd = process.cwd()
    except psutil.Error:
        return None
    for handle in stack.services.values():
        if cwd == str(handle.folder):
            return handle.prefix
    return None
