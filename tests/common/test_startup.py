"""Long-running processes keep the garbage collector off what they built while starting (``gc.freeze``):
a full collection would walk every module, model and URL pattern again."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parents[2] / "user_manager"


def run_in_a_new_process(code: str) -> list[int]:
    """Run ``code`` in a fresh interpreter of the service (this one's environment); the numbers it prints."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "user_manager.settings"}
    done = subprocess.run(  # nosec B603 # this interpreter, our own code
        [sys.executable, "-c", code], cwd=SERVICE_DIR, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return [int(number) for number in done.stdout.split()]


@pytest.mark.integration
def test_an_api_process_freezes_its_application_with_the_url_patterns_built():
    frozen, patterns_built = run_in_a_new_process(
        "import gc, sys; import user_manager.wsgi; print(gc.get_freeze_count(), int('user_manager.urls' in sys.modules))"
    )
    assert frozen > 10_000 and patterns_built


@pytest.mark.integration
def test_a_queue_worker_process_freezes_once_forked_and_set_up():
    before, after = run_in_a_new_process(
        "import gc; from celery.signals import worker_process_init; import user_manager.celery;"
        "before = gc.get_freeze_count(); worker_process_init.send(sender=None); print(before, gc.get_freeze_count())"
    )
    assert before == 0 and after > 10_000
