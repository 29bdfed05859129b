"""Reads of customers, each with its credit summary (the API shows both together)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db.models import Q, QuerySet

from common.errors import DomainError, ErrorCode
from common.inbox.models import ProcessedEvent
from common.outbox.models import OutboxEvent
from users.cache import cached_customer
from users.models import Customer, CustomerStatus

T = TypeVar("T")


def customer_rendered(*, customer_id: uuid.UUID, render: Callable[[Customer], T]) -> T:
    """The customer, with its credit summary, as ``render`` makes it (the API's answer), from the cache
    when it is there (see ``users.cache``): a hit is one Redis round trip, with no query, no model to
    rebuild and nothing to render again. Nothing in a customer's answer depends on the time it is read."""

    def load() -> T | None:
        customer = _customers().filter(id=customer_id).first()
        return None if customer is None else render(customer)

    rendered = cached_customer(customer_id, load)
    if rendered is None:
        raise DomainError(ErrorCode.CUSTOMER_NOT_FOUND)
    return rendered


def customer_list(
    *, status: CustomerStatus | None = None, search: str | None = None, ordering: str = "-created_at"
) -> QuerySet[Customer]:
    """Customers in a stable order (the id breaks ties), so pages neither repeat nor skip anyone."""
    customers = _customers()
    if status:
        customers = customers.filter(status=status)
    if search:
        customers = customers.filter(Q(full_name__icontains=search) | Q(email__icontains=search))
    return customers.order_by(ordering, "id")


def _customers() -> QuerySet[Customer]:
    return Customer.objects.select_related("credit_summary")


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    event_type: str
    direction: str
    detail: str


def customer_event_history(*, customer_id: uuid.UUID) -> list[HistoryEntry]:
    """What the back office shows of a customer's events, newest first: what we published (the outbox)
    and the credit events we applied (the inbox; their subject is the customer id too).

    Both tables are purged after their retention period, so this is recent history, not an archive.
    """
    published = [
        HistoryEntry(
            at=row.created_at,
            event_type=row.event_type,
            direction="published" if row.sent_at else "waiting to be published",
            detail=json.dumps(row.envelope.get("data", {}), sort_keys=True),
        )
        for row in OutboxEvent.objects.filter(subject=str(customer_id))
    ]
    received = [
        HistoryEntry(at=row.occurred_at, event_type=row.event_type, direction=f"received from {row.source}", detail="")
        for row in ProcessedEvent.objects.filter(subject=str(customer_id))
    ]
    return sorted(published + received, key=lambda entry: entry.at, reverse=True)
