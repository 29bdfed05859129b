"""Reads of customers."""

from __future__ import annotations

import uuid

from common.errors import NotFound
from users.models import Customer


def customer_get(*, customer_id: uuid.UUID) -> Customer:
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        raise NotFound("No customer with this id.", code="customer_not_found")
    return customer
