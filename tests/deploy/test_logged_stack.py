"""The stack as production runs it (``DEVSTACK_LOG_DIR``): each process's output in a file of its own,
and the first process to exit stops the others, as honcho does for ``make run``.

Plain pytest on real processes: no Django settings are imported."""

import os
import sys
import time

from common.devstack.supervisor import log_file, start_logged, supervise

PYTHON = sys.executable


def test_each_process_writes_its_own_log_and_the_first_to_exit_stops_the_others(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = {
        "steady": start_logged("steady", f"{PYTHON} -c \"print('steady up'); import time; time.sleep(60)\"",
                               env=env, cwd=tmp_path, log_dir=tmp_path),
        "brief": start_logged("brief", f"{PYTHON} -c \"import sys, time; time.sleep(1); print('brief done'); sys.exit(3)\"",
                              env=env, cwd=tmp_path, log_dir=tmp_path),
    }  # fmt: skip
    began = time.monotonic()
    assert supervise(started, tmp_path) == 3, "the first process's exit code"
    assert time.monotonic() - began < 30, "the steady process was stopped, not waited for"
    assert started["steady"].poll() is not None
    assert log_file(tmp_path, "steady").read_text() == "steady up\n"
    assert log_file(tmp_path, "brief").read_text() == "brief done\n"
