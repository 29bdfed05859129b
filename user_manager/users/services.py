"""Customer operations: the one home of customer rules; API, admin and tasks call these."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction

from common.errors import Conflict
from common.events import USERS_TOPIC, new_event
from common.events.payloads import USER_CREATED, UserCreated
from common.outbox.services import publish
from users.models import Customer


def register_customer(
    *, full_name: str, email: str, tax_id: str, birth_date: date, monthly_income: Decimal, phone: str = ""
) -> Customer:
    """Create a customer and announce ``user.created``; 409 if the email or tax id is taken.

    Uniqueness is enforced by the database (case-insensitive email), so two concurrent requests
    with the same email cannot both succeed.
    """
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                full_name=full_name,
                email=email,
                tax_id=tax_id,
                birth_date=birth_date,
                monthly_income=monthly_income,
                phone=phone,
            )
            publish(
                new_event(
                    USER_CREATED,
                    subject=customer.id,
                    data=UserCreated(
                        user_id=customer.id,
                        birth_date=customer.birth_date,
                        monthly_income=customer.monthly_income,
                        status=customer.status,
                    ),
                ),
                topic=USERS_TOPIC,
                key=str(customer.id),
            )
    except IntegrityError as exc:
        raise _conflict(exc) from exc
    return customer


def _conflict(exc: IntegrityError) -> Conflict:
    text = str(exc)
    if "customer_email_ci_unique" in text:
        return Conflict("A customer with this email already exists.", code="email_taken")
    if "tax_id" in text:
        return Conflict("A customer with this tax id already exists.", code="tax_id_taken")
    return Conflict("The customer conflicts with an existing one.")
