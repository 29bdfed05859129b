"""Customer operations: API, admin and tasks call these, and every value passes ``users.rules``.

Every change bumps the customer's ``version``, announces itself through the outbox in the same
transaction, and invalidates the cached customer after commit.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from common.audit import services as audit
from common.cpf import mask_cpf
from common.customer_lookup import email_digest, mask_email, tax_id_digest
from common.errors import DomainError, ErrorCode
from common.events import USERS_TOPIC, Payload, new_event
from common.events.payloads import (
    USER_BLOCKED,
    USER_CLOSED,
    USER_CREATED,
    USER_UNBLOCKED,
    USER_UPDATED,
    CustomerReference,
    UserCreated,
    UserStatusChanged,
    UserUpdated,
)
from common.outbox.services import outbox_rows
from users import rules
from users.cache import forget_customer_on_commit
from users.models import Customer, CustomerStatus

logger = logging.getLogger(__name__)


def register_customer(registration: rules.NewCustomer) -> Customer:
    """Create a customer and announce ``user.created``; 409 if the email or tax id is taken. The values
    obey ``users.rules`` already: a :class:`~users.rules.NewCustomer` exists only once checked.

    Uniqueness is enforced by the database (case-insensitive email), so two concurrent requests
    with the same email cannot both succeed.
    """
    customer = Customer(**registration.model_dump())
    try:
        with transaction.atomic():
            _announce(customer, USER_CREATED, UserCreated(**_state_of(customer)), new=True)
    except IntegrityError as exc:
        raise _conflict(exc) from exc
    # Known without a query: no credit event has summarised a new customer's credit yet.
    Customer._meta.get_field("credit_summary").set_cached_value(customer, None)
    return customer


def update_customer(
    *,
    customer_id: uuid.UUID,
    expected_version: int | None = None,
    full_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    monthly_income: Decimal | None = None,
) -> Customer:
    """Change the given fields (None: unchanged) and announce ``user.updated`` if anything changed.

    The event names the changed fields and carries the customer's state as every customer event
    does (no name, email, tax id or phone: credit_manager acts only on the income).
    """
    given = {"full_name": full_name, "email": email, "phone": phone, "monthly_income": monthly_income}
    wanted = rules.checked(**{name: value for name, value in given.items() if value is not None})
    try:
        with transaction.atomic():
            customer = _locked_customer(customer_id, expected_version=expected_version)
            if customer.status == CustomerStatus.CLOSED:
                raise _closed()
            changed = [name for name, value in wanted.items() if value != getattr(customer, name)]
            if not changed:
                return customer
            for name in changed:
                setattr(customer, name, wanted[name])
            _save_change(customer, fields=changed)
            _announce(customer, USER_UPDATED, UserUpdated(**_state_of(customer), changed_fields=changed))
    except IntegrityError as exc:
        raise _conflict(exc) from exc
    return customer


def block_customer(*, customer_id: uuid.UUID, reason: str = "", expected_version: int | None = None) -> Customer:
    """Block an active customer (credit_manager freezes the account)."""
    return _change_status(customer_id, CustomerStatus.BLOCKED, reason=reason, expected_version=expected_version)


def unblock_customer(*, customer_id: uuid.UUID, reason: str = "", expected_version: int | None = None) -> Customer:
    """Make a blocked customer active again (credit_manager unfreezes the account)."""
    return _change_status(customer_id, CustomerStatus.ACTIVE, reason=reason, expected_version=expected_version)


def close_customer(*, customer_id: uuid.UUID, reason: str = "", expected_version: int | None = None) -> Customer:
    """Close a customer for good: a soft delete, the record and its history stay; nothing changes it again."""
    return _change_status(customer_id, CustomerStatus.CLOSED, reason=reason, expected_version=expected_version)


# target status: (statuses it can be reached from, the event announcing it)
_TRANSITIONS = {
    CustomerStatus.BLOCKED: ({CustomerStatus.ACTIVE}, USER_BLOCKED),
    CustomerStatus.ACTIVE: ({CustomerStatus.BLOCKED}, USER_UNBLOCKED),
    CustomerStatus.CLOSED: ({CustomerStatus.ACTIVE, CustomerStatus.BLOCKED}, USER_CLOSED),
}


def _change_status(customer_id: uuid.UUID, target: CustomerStatus, *, reason: str, expected_version: int | None) -> Customer:
    sources, event_type = _TRANSITIONS[target]
    reason = rules.checked(reason=reason)["reason"]
    with transaction.atomic():
        customer = _locked_customer(customer_id, expected_version=expected_version)
        if customer.status not in sources:
            raise _refused_transition(customer, target=target)
        customer.status = target
        _save_change(customer, fields=["status"])
        _announce(customer, event_type, UserStatusChanged(**_state_of(customer), reason=reason))
    return customer


def _locked_customer(customer_id: uuid.UUID, *, expected_version: int | None) -> Customer:
    """The customer's row, locked until commit, so the version check and the change are one step."""
    customer = Customer.objects.select_for_update().filter(id=customer_id).first()
    if customer is None:
        raise DomainError(ErrorCode.CUSTOMER_NOT_FOUND)
    if expected_version is not None and customer.version != expected_version:
        raise DomainError(
            ErrorCode.VERSION_MISMATCH,
            f"The customer changed since version {expected_version}; it is now at version {customer.version}.",
        )
    customer.state_before = _audited(customer)
    return customer


def _audited(customer: Customer) -> dict[str, Any]:
    """What the audit trail keeps of a customer before and after a change: what a change can touch."""
    return {
        "version": customer.version, "status": customer.status, "full_name": customer.full_name, "email": customer.email,
        "phone": customer.phone, "monthly_income": customer.monthly_income,
    }  # fmt: skip


def _closed() -> DomainError:
    return DomainError(ErrorCode.CUSTOMER_CLOSED)


def _refused_transition(customer: Customer, *, target: str) -> DomainError:
    if customer.status == CustomerStatus.CLOSED:
        return _closed()
    if target == CustomerStatus.ACTIVE:
        return DomainError(ErrorCode.CUSTOMER_NOT_BLOCKED)
    return DomainError(ErrorCode.CUSTOMER_ALREADY_BLOCKED)


def _save_change(customer: Customer, *, fields: list[str]) -> None:
    customer.version += 1
    customer.save(update_fields=[*fields, "version", "updated_at"])
    forget_customer_on_commit(customer.id)


def _state_of(customer: Customer) -> dict[str, Any]:
    """What every customer event carries (``CustomerState``): the version orders them, the rest is
    all that credit_manager needs (the analysis' inputs, and the reference its operators find the
    customer by), so the newest event alone tells it the whole story."""
    return {
        "user_id": customer.id,
        "version": customer.version,
        "status": customer.status,
        "birth_date": customer.birth_date,
        "monthly_income": customer.monthly_income,
        "reference": CustomerReference(
            name=customer.full_name,
            tax_id_masked=mask_cpf(customer.tax_id),
            email_masked=mask_email(customer.email),
            tax_id_digest=tax_id_digest(customer.tax_id),
            email_digest=email_digest(customer.email),
        ),
    }


def _announce(customer: Customer, event_type: str, data: Payload, *, new: bool = False) -> None:
    """Publish the customer's event through the outbox, in the caller's transaction, and record the change
    in the audit trail when an operator or an API key made it (with the fields it changed).

    A ``new`` customer's row is inserted by the statement that writes its event and starts its audit chain.
    """
    after = _audited(customer) | ({"reason": data.reason} if getattr(data, "reason", "") else {})
    outbox = outbox_rows([new_event(event_type, subject=customer.id, data=data)], topic=USERS_TOPIC, key=str(customer.id))
    change = audit.Change(event_type, customer.state_before, after)
    written_with = [[customer], outbox] if new else [outbox]
    audit.record_all(subject_type="customer", subject_id=customer.id, changes=[change], written_with=written_with, new_subject=new)
    # Ids and types only: personal data (tax id, email, income) never goes to the logs.
    logger.info("customer event recorded", extra={"customer_id": str(customer.id), "event_type": event_type})


def _conflict(exc: IntegrityError) -> DomainError:
    """The refusal a unique key's violation means; any other integrity error (a check) is raised as it is."""
    text = str(exc)
    if "customer_email_ci_unique" in text:
        return DomainError(ErrorCode.EMAIL_TAKEN)
    if "tax_id" in text:
        return DomainError(ErrorCode.TAX_ID_TAKEN)
    raise exc
