"""Ledger endpoints: thin; the rules are in ``ledger.services``."""

import uuid

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from common.apikeys.auth import ApiKeyAuth
from common.idempotency.api import IdempotencyKeyHeader
from common.idempotency.services import respond_idempotently
from common.pagination import Pagination
from ledger import selectors, services
from ledger.schemas import ReverseIn, TransactionIn, TransactionOut

router = Router(tags=["ledger"])


@router.post("/accounts/{account_id}/transactions", response={201: TransactionOut}, auth=ApiKeyAuth("credit:write"))
def post_transaction(
    request: HttpRequest, account_id: uuid.UUID, payload: TransactionIn, idempotency_key: str | None = IdempotencyKeyHeader
):
    """Post a purchase, payment or refund; the response carries the balance and available amount after it.

    Declined (422, nothing changes): ``INSUFFICIENT_CREDIT``, ``ACCOUNT_NOT_ACTIVE``, ``ACCOUNT_CLOSED``,
    ``PAYMENT_EXCEEDS_BALANCE``, ``REFUND_EXCEEDS_BALANCE``. Declines are replayed for their key too.
    """

    def post() -> tuple[int, dict]:
        posted = services.post_transaction(account_id=account_id, **payload.dict())
        return 201, TransactionOut.from_orm(posted).model_dump(mode="json")

    return respond_idempotently(request, key=idempotency_key, operation=post)


@router.get("/accounts/{account_id}/transactions", response=list[TransactionOut], auth=ApiKeyAuth("credit:read"))
@paginate(Pagination)
def list_transactions(request: HttpRequest, account_id: uuid.UUID):
    """The account's transactions, newest first."""
    return selectors.transaction_list(account_id=account_id)


@router.get("/transactions/{transaction_id}", response=TransactionOut, auth=ApiKeyAuth("credit:read"))
def get_transaction(request: HttpRequest, transaction_id: uuid.UUID):
    return selectors.transaction_get(transaction_id=transaction_id)


@router.post("/transactions/{transaction_id}/reverse", response={201: TransactionOut}, auth=ApiKeyAuth("credit:write"))
def reverse_transaction(
    request: HttpRequest, transaction_id: uuid.UUID, payload: ReverseIn, idempotency_key: str | None = IdempotencyKeyHeader
):
    """Post the reversal of a transaction (each is reversed at most once: ``ALREADY_REVERSED``)."""

    def reverse() -> tuple[int, dict]:
        reversal = services.reverse_transaction(transaction_id=transaction_id, reason=payload.reason)
        return 201, TransactionOut.from_orm(reversal).model_dump(mode="json")

    return respond_idempotently(request, key=idempotency_key, operation=reverse, required=False)
