"""The dead-letter console: every message the service dead-letters is shown in the back office with why
and where from; an operator replays it (handed back to the queue workers, applied once however often
it is replayed) or discards it with a reason, and who did what is kept. The admin's index shows what
waits: the outbox backlog, the consumer's lag per partition, the dead letters open."""

import pytest
from django.contrib.auth.models import Permission, User

from common.errors import DomainError
from common.inbox.models import ProcessedEvent
from common.messaging import dead_letters
from common.messaging.dead_letter import send_to_dead_letter
from common.messaging.models import DeadLetter
from common.messaging.tasks import process_events

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator(db) -> User:
    user = User.objects.create_user("ops", password="a-long-operator-password-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_deadletter", "resolve_deadletter"]))
    return user


def dead_letter(event) -> DeadLetter:
    send_to_dead_letter(
        event.to_bytes(), key=event.subject.encode(), reason="ValueError('policy missing')", origin="task attempt 5"
    )
    return DeadLetter.objects.get(event_id=event.id)


def run_queued(task_queue) -> None:
    """What a queue worker does with the tasks the replay queued."""
    for message in task_queue.messages("common.messaging.process_events"):
        process_events.apply(args=message["args"])
    task_queue.clear()


def test_a_dead_lettered_event_is_shown_with_why_and_where_from(dead_letter_topic, make_user_created):
    event = make_user_created()
    shown = dead_letter(event)
    assert (shown.event_type, shown.subject, shown.reason, shown.origin, shown.status) == (
        "user.created", str(event.subject), "ValueError('policy missing')", "task attempt 5", "open"
    )  # fmt: skip
    assert str(event.id) in shown.payload


def test_a_replay_from_the_console_takes_effect_once(dead_letter_topic, handled, make_user_created, operator, task_queue):
    applied = []
    handled("user.created", lambda event: applied.append(event.id))
    event = make_user_created()
    shown = dead_letter(event)
    task_queue.clear()

    replayed = dead_letters.replay(dead_letter_id=shown.id, by=operator)
    assert (replayed.status, replayed.resolved_by) == ("replayed", operator) and replayed.resolved_at is not None
    run_queued(task_queue)
    assert applied == [event.id]
    with pytest.raises(DomainError) as again:
        dead_letters.replay(dead_letter_id=shown.id, by=operator)
    assert again.value.code == "DEAD_LETTER_RESOLVED"
    process_events.apply(args=[[event.to_json()]])  # even delivered once more, the event applies once
    assert applied == [event.id] and ProcessedEvent.objects.filter(event_id=event.id).count() == 1


def test_a_message_that_is_not_an_event_can_only_be_discarded_with_a_reason(dead_letter_topic, operator):
    send_to_dead_letter(b"\x00 not an event", key=b"k", reason="not JSON", origin="users.events/0@7")
    garbage = DeadLetter.objects.get(origin="users.events/0@7")
    with pytest.raises(DomainError) as refused:
        dead_letters.replay(dead_letter_id=garbage.id, by=operator)
    assert refused.value.code == "DEAD_LETTER_NOT_REPLAYABLE"
    with pytest.raises(DomainError) as no_reason:
        dead_letters.discard(dead_letter_id=garbage.id, by=operator, note=" ")
    assert no_reason.value.code == "REASON_REQUIRED"
    discarded = dead_letters.discard(dead_letter_id=garbage.id, by=operator, note="a test message from the load tool")
    assert (discarded.status, discarded.resolution_note) == ("discarded", "a test message from the load tool")


def test_the_console_replays_from_the_admin(dead_letter_topic, handled, make_user_created, operator, client, task_queue):
    handled("user.created", lambda event: None)
    shown = dead_letter(make_user_created())
    client.force_login(operator)
    page = client.get("/admin/messaging/deadletter/?status__exact=open").content.decode()
    assert "user.created" in page and "ValueError(&#x27;policy missing&#x27;)" in page
    client.post("/admin/messaging/deadletter/", {"action": "replay", "_selected_action": [shown.id]})
    assert DeadLetter.objects.get(id=shown.id).status == "replayed"
    assert len(task_queue.messages("common.messaging.process_events")) == 1


def test_the_admin_index_shows_what_waits(dead_letter_topic, make_user_created, admin_client):
    dead_letter(make_user_created())
    page = admin_client.get("/admin/").content.decode()
    assert "events waiting to be published (outbox)" in page
    assert "dead letters open</a></th>\n<td>1</td>" in page
    assert "consumer lag, credit.events partition 0" in page
