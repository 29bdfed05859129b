"""replay_dead_letters: an operator hands dead-lettered events back to the queue workers, filtered by time and type."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from common.inbox.models import ProcessedEvent
from common.messaging.dead_letter import send_to_dead_letter
from common.messaging.replay import replay_dead_letters
from common.messaging.tasks import process_events

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def dead_letter(event) -> None:
    send_to_dead_letter(event.to_bytes(), key=event.subject.encode(), reason="ValueError('policy missing')", origin="task attempt 5")


def apply_in_this_process(batch) -> None:
    process_events.apply(args=[[event.to_json() for event in batch]])


def test_replays_what_was_dead_lettered_and_counts_what_cannot_be(dead_letter_topic, handled, make_user_created):
    applied = []
    handled("user.created", lambda event: applied.append(event.id))
    events = [make_user_created() for _ in range(3)]
    for event in events:
        dead_letter(event)
    send_to_dead_letter(b"\x00 not an event", key=b"k", reason="not JSON", origin="users.events/0@7")
    unknown = make_user_created().model_copy(update={"type": "user.teleported"})
    dead_letter(unknown)

    counts = replay_dead_letters(dispatch=apply_in_this_process)
    assert counts == {"replayed": 3, "not_an_event": 1, "not_handled_here": 1}
    assert sorted(applied) == sorted(event.id for event in events)  # each customer's partition in order, not across

    again = replay_dead_letters(dispatch=apply_in_this_process)
    assert again["replayed"] == 3 and len(applied) == 3, "a second replay has no second effect"
    assert ProcessedEvent.objects.filter(event_id__in=[e.id for e in events]).count() == 3


def test_filters_by_type_and_by_when_it_was_dead_lettered(dead_letter_topic, handled, make_user_created):
    handled("user.created", lambda event: None)
    handled("user.blocked", lambda event: None)
    created = make_user_created()
    blocked = make_user_created().model_copy(update={"type": "user.blocked"})
    dead_letter(created)
    dead_letter(blocked)
    only_blocked = replay_dead_letters(dispatch=apply_in_this_process, event_types=frozenset({"user.blocked"}), dry_run=True)
    assert only_blocked == {"replayed": 1, "filtered_out": 1}
    later = replay_dead_letters(dispatch=apply_in_this_process, since=timezone.now() + timedelta(minutes=1), dry_run=True)
    assert later["replayed"] == 0
    earlier = replay_dead_letters(dispatch=apply_in_this_process, until=timezone.now() - timedelta(minutes=1), dry_run=True)
    assert earlier == {"filtered_out": 2}
    assert not ProcessedEvent.objects.exists(), "a dry run replays nothing"


def test_the_command_reports_what_it_did(dead_letter_topic, capsys, handled, make_user_created):
    handled("user.created", lambda event: None)
    dead_letter(make_user_created())
    call_command("replay_dead_letters", "--since", "1h", "--type", "user.created", "--dry-run")
    assert capsys.readouterr().out.strip() == "would replay 1 event(s)"
