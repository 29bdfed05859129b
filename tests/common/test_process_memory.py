"""What a process remembers of what it read a moment ago (``common.process_memory``): bounded in time and
size, forgotten in every process when one announces a change, and never refilled by a read that began
before the announcement."""

import itertools
import time

import pytest
from django_redis import get_redis_connection

from common.process_memory import ProcessMemory, ensure_listening
from common.testing import wait_until

_names = (f"test-memory-{n}" for n in itertools.count())


def memory(*, seconds: float = 30, max_entries: int = 10, only_while_listening: bool = False) -> ProcessMemory:
    return ProcessMemory(
        next(_names), seconds=lambda: seconds, max_entries=max_entries, only_while_listening=only_while_listening
    )


def remembered(kept: ProcessMemory, key: str, value: object) -> None:
    kept.remember(key, value, since_generation=kept.generation())


def test_a_value_is_kept_for_the_memorys_seconds(monkeypatch):
    kept = memory(seconds=5)
    remembered(kept, "k", "v")
    assert kept.recall("k") == "v"
    later = time.monotonic() + 6
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert kept.recall("k") is None


def test_nothing_is_kept_when_its_seconds_are_zero():
    kept = memory(seconds=0)
    remembered(kept, "k", "v")
    assert kept.recall("k") is None


def test_a_read_that_began_before_a_forget_keeps_nothing():
    kept = memory()
    since = kept.generation()  # a read begins ...
    kept.forget("k")  # ... a change of that key (or any other) is announced meanwhile ...
    kept.remember("k", "old", since_generation=since)  # ... and what the read saw arrives
    assert kept.recall("k") is None


def test_a_value_not_kept_is_read_once_and_then_recalled():
    kept = memory()
    reads = []
    assert kept.recall_or_read("k", lambda: reads.append("read") or "v") == "v"
    assert kept.recall_or_read("k", lambda: reads.append("read") or "other") == "v"
    assert reads == ["read"]


def test_a_value_read_while_it_was_forgotten_is_not_kept():
    kept = memory()
    assert kept.recall_or_read("k", lambda: kept.forget("k") or "old") == "old"
    assert kept.recall("k") is None


def test_a_full_memory_starts_over_rather_than_grow():
    kept = memory(max_entries=2)
    for key in ("a", "b", "c"):
        remembered(kept, key, key)
    assert [kept.recall(key) for key in ("a", "b", "c")] == [None, None, "c"]


@pytest.mark.django_db
def test_a_forget_announced_by_another_process_reaches_this_one():
    kept = memory()
    remembered(kept, "k", "v")
    kept.announce_forget("k")  # only the announcement coming back makes this process forget
    wait_until(lambda: kept.recall("k") is None, timeout=1, interval=0.02, what="the announcement")


@pytest.mark.django_db
def test_a_memory_used_only_while_listening_forgets_everything_when_it_listens_again():
    kept = memory(only_while_listening=True)
    ensure_listening()
    remembered(kept, "before", "v")
    assert kept.recall("before") == "v"
    get_redis_connection("default").client_kill_filter(_type="pubsub")  # announcements may be missed now

    def listening_again() -> bool:
        remembered(kept, "after", "w")
        return kept.recall("after") == "w"

    wait_until(lambda: kept.recall("before") is None, timeout=5, interval=0.05, what="the listener to notice")
    wait_until(listening_again, timeout=5, interval=0.05, what="the listener to subscribe again")
    assert kept.recall("before") is None, "forgotten, not only unused while away"


def test_two_memories_of_one_name_are_refused():
    kept = memory()
    with pytest.raises(ValueError, match="already"):
        ProcessMemory(kept.name, seconds=lambda: 1, max_entries=1)
