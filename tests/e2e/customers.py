"""Customers for the end-to-end tests: valid CPFs no other test uses, and customers as user_manager announces
them, for tests that feed users.events directly (no Django here)."""

import json
import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from kafka import KafkaProducer
from kafka.partitioner.default import murmur2


class Customer:
    """A customer as user_manager sees it; each change is the next version, announced with the whole state."""

    def __init__(self, income: str = "8000.00", *, same_partition_as: tuple["Customer", int] | None = None) -> None:
        """``same_partition_as=(other, partitions)``: an id whose events share ``other``'s partition."""
        self.id = str(uuid.uuid4())
        while same_partition_as and partition_of(self.id, same_partition_as[1]) != partition_of(same_partition_as[0].id, same_partition_as[1]):
            self.id = str(uuid.uuid4())
        self.version, self.status, self.income = 0, "active", Decimal(income)
        self.events: list[dict] = []
        self._announce("user.created")

    def block(self) -> None:
        if self.status == "active":
            self.status = "blocked"
            self._announce("user.blocked")

    def unblock(self) -> None:
        if self.status == "blocked":
            self.status = "active"
            self._announce("user.unblocked")

    def close(self) -> None:
        if self.status != "closed":
            self.status = "closed"
            self._announce("user.closed")

    def change_income(self, income: str) -> None:
        if self.status != "closed" and Decimal(income) != self.income:
            self.income = Decimal(income)
            self._announce("user.updated", changed_fields=["monthly_income"])

    def _announce(self, event_type: str, **extra) -> None:
        self.version += 1
        data = {
            "user_id": self.id, "version": self.version, "status": self.status, "birth_date": "1986-03-09",
            "monthly_income": str(self.income), **extra,
        }  # fmt: skip
        self.events.append({
            "specversion": "1.0", "id": str(uuid.uuid4()), "source": "user_manager", "type": event_type,
            "subject": self.id, "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json", "data": data,
        })  # fmt: skip


def live(customer: Customer, steps: list[str]) -> Customer:
    """The customer after ``steps``: block, unblock, close, or a new monthly income."""
    actions = {"block": customer.block, "unblock": customer.unblock, "close": customer.close}
    for step in steps:
        if step in actions:
            actions[step]()
        else:
            customer.change_income(step)
    return customer


def partition_of(key: str, partitions: int) -> int:
    """The partition the producer's default partitioner picks for ``key`` among ``partitions``."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def produce(producer: KafkaProducer, events: list[dict]) -> None:
    for event in events:
        producer.send("users.events", key=event["subject"].encode(), value=json.dumps(event).encode())
    producer.flush()


def new_cpf() -> str:
    """A valid CPF no other test uses (random, with its two check digits)."""
    digits = [random.randint(0, 9) for _ in range(9)]
    while len(set(digits)) == 1:
        digits = [random.randint(0, 9) for _ in range(9)]
    for _ in range(2):
        total = sum(d * w for d, w in zip(digits, range(len(digits) + 1, 1, -1), strict=True))
        digits.append(total * 10 % 11 % 10)
    return "".join(map(str, digits))
