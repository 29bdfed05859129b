"""What an operator sees first on each admin's index: the work waiting and whether the events flow.

Each figure is a label, a value and where to act on it. ``common`` gives the outbox backlog, the
consumer's lag per partition and the open dead letters; a service adds its own queues with
:func:`register` (credit_manager: reviews and approvals waiting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from kafka import KafkaConsumer, TopicPartition

from common.messaging.kafka import client_config
from common.messaging.models import DeadLetter, DeadLetterStatus
from common.outbox.models import OutboxEvent


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    link: str = ""


_providers: list[Callable[[], list[Figure]]] = []


def register(provider: Callable[[], list[Figure]]) -> None:
    _providers.append(provider)


def figures() -> list[Figure]:
    """Every figure, the shared ones first; read when the index is shown (a broker away shows as such)."""
    return [figure for provider in (_shared, *_providers) for figure in provider()]


def _shared() -> list[Figure]:
    pending = OutboxEvent.objects.filter(sent_at__isnull=True)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    backlog = f"{pending.count()}" + (f", the oldest {_age(oldest)} old" if oldest else "")
    open_letters = DeadLetter.objects.filter(status=DeadLetterStatus.OPEN).count()
    dead_letters = reverse("admin:messaging_deadletter_changelist") + "?status__exact=open"
    return [
        Figure("events waiting to be published (outbox)", backlog),
        *_consumer_lag(),
        Figure("dead letters open", str(open_letters), dead_letters),
    ]


def _consumer_lag() -> list[Figure]:
    """Events of each consumed partition this service's consumer group has not committed yet."""
    try:
        reader = KafkaConsumer(**client_config(), group_id=settings.KAFKA_CONSUMER_GROUP, enable_auto_commit=False)
    except Exception as exc:  # noqa: BLE001 - the broker is away: say so, the page still shows
        return [Figure("consumer lag", f"unknown ({exc.__class__.__name__})")]
    try:
        shown = []
        for topic in settings.KAFKA_CONSUMED_TOPICS:
            partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or [])]
            ends = reader.end_offsets(partitions) if partitions else {}
            for partition in partitions:
                lag = max(ends[partition] - (reader.committed(partition) or 0), 0)
                shown.append(Figure(f"consumer lag, {topic} partition {partition.partition}", str(lag)))
        return shown
    except Exception as exc:  # noqa: BLE001 - as above
        return [Figure("consumer lag", f"unknown ({exc.__class__.__name__})")]
    finally:
        reader.close(autocommit=False)


def _age(moment) -> str:
    seconds = int((timezone.now() - moment).total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"
