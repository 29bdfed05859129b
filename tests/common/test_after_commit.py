"""Side effects after commit (``common.transactions.after_commit``): they run only once the change is
committed, and one that fails neither turns the committed change into an error nor stops the next."""

import logging

import pytest
from django.db import transaction

from common.transactions import after_commit

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_failing_hook_is_logged_by_its_kind_and_the_next_hook_still_runs(caplog):
    ran = []

    def failing() -> None:
        raise ConnectionError("redis://secret@cache:6379 refused")

    with transaction.atomic():
        after_commit(failing, what="invalidate a cached customer")
        after_commit(lambda: ran.append("next"), what="run the next hook")
        assert ran == []
    assert ran == ["next"]
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert warning.getMessage() == "after commit, could not invalidate a cached customer: ConnectionError"


def test_a_rolled_back_change_runs_no_hook():
    ran = []
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            after_commit(lambda: ran.append("hook"), what="run a hook")
            raise RuntimeError("the change failed")
    assert ran == []
