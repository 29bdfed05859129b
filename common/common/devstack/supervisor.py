"""The stack's processes with each one's output in a file of its own, the way production runs them.

``make run`` relays every process's output through honcho (one terminal, each line prefixed with its
process), and its APIs write an access log. With ``DEVSTACK_LOG_DIR`` set, ``run`` starts each
process itself instead, its output (stdout and stderr) appended to ``<DEVSTACK_LOG_DIR>/<name>.log``,
and the APIs write no access log, like the containers of docker-compose.yaml: nothing sits between a
process and its log, so a benchmark measures what production would run (``make bench`` does this).

Like honcho, the first process to exit, Ctrl-C or SIGTERM stops them all: SIGTERM to each process's
group, then SIGKILL to what is still running after :data:`STOP_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from .services import STOP_TIMEOUT_SECONDS, _die_with_parent, signals_ignored

POLL_SECONDS = 0.2


def log_file(log_dir: Path, name: str) -> Path:
    return log_dir / f"{name}.log"


def start_logged(name: str, command: str, *, env: dict[str, str], cwd: Path, log_dir: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` (a shell-quoted command line, run without a shell) in ``cwd``, its output appended
    to ``<log_dir>/<name>.log``. It leads a process group of its own, so a Ctrl-C in the terminal reaches
    this process only, which then stops it; it gets SIGTERM if this process dies without stopping it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with log_file(log_dir, name).open("ab") as output:
        return subprocess.Popen(  # nosec B603 # a command of common.devstack.processes, no shell
            shlex.split(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )


def supervise(started: dict[str, subprocess.Popen[bytes]], log_dir: Path) -> int:
    """Wait until one of the processes exits (or Ctrl-C, or SIGTERM), then stop them all.

    Returns the exit code of the first process that exited, or 130 after Ctrl-C and 143 after SIGTERM (as honcho does).
    """
    returncode = 0
    try:
        while True:
            exited = next(((name, process) for name, process in started.items() if process.poll() is not None), None)
            if exited is not None:
                name, process = exited
                returncode = process.returncode
                print(f"devstack: {name} exited with code {returncode}; its log ({log_file(log_dir, name)}):\n"
                      f"{_tail(log_file(log_dir, name))}", file=sys.stderr, flush=True)  # fmt: skip
                break
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        returncode = 130
    except SystemExit as stop:  # SIGTERM, which commands.exit_on_sigterm turns into SystemExit(143)
        returncode = stop.code if isinstance(stop.code, int) else 1
    finally:
        with signals_ignored():  # a second Ctrl-C must not leave half of them running
            stop_all(started)
    return returncode


def stop_all(started: dict[str, subprocess.Popen[bytes]], *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM to every process's group, then SIGKILL to the groups of those still running after ``timeout``."""
    running = {name: process for name, process in started.items() if process.poll() is None}
    for name, process in running.items():
        print(f"devstack: stopping {name} (pid {process.pid})", file=sys.stderr, flush=True)
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running.values():
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass  # already gone


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
