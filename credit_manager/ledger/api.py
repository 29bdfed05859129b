"""Ledger endpoints: thin; the rules are in ``ledger.services``.

The services' own amount checks (``AMOUNT_NOT_POSITIVE``, ``AMOUNT_TOO_PRECISE``) are not declared:
the schema refuses such an amount first (``VALIDATION_ERROR``).
"""

import uuid

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from common.api import error_responses
from common.apikeys.auth import ApiKeyAuth
from common.errors import ErrorCode
from common.idempotency.api import IdempotencyKeyHeader, idempotency_key_parameter
from common.idempotency.services import respond_idempotently
from common.pagination import Pagination
from ledger import selectors, services
from ledger.schemas import ReverseIn, TransactionIn, TransactionOut

router = Router(tags=["ledger"])

POST_TRANSACTION_ERRORS = error_responses(
    ErrorCode.ACCOUNT_NOT_FOUND,
    ErrorCode.ACCOUNT_NOT_ACTIVE,
    ErrorCode.ACCOUNT_CLOSED,
    ErrorCode.INSUFFICIENT_CREDIT,
    ErrorCode.PAYMENT_EXCEEDS_BALANCE,
    ErrorCode.REFUND_EXCEEDS_BALANCE,
    ErrorCode.AMOUNT_TOO_LARGE,
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED,
    ErrorCode.IDEMPOTENCY_KEY_INVALID,
    ErrorCode.IDEMPOTENCY_KEY_REUSED,
)
REVERSE_ERRORS = error_responses(
    ErrorCode.TRANSACTION_NOT_FOUND,
    ErrorCode.ACCOUNT_CLOSED,
    ErrorCode.CANNOT_REVERSE_REVERSAL,
    ErrorCode.ALREADY_REVERSED,
    ErrorCode.REVERSAL_EXCEEDS_BALANCE,
    ErrorCode.AMOUNT_TOO_LARGE,
    ErrorCode.IDEMPOTENCY_KEY_INVALID,
    ErrorCode.IDEMPOTENCY_KEY_REUSED,
)


@router.post(
    "/accounts/{account_id}/transactions",
    response={201: TransactionOut, **POST_TRANSACTION_ERRORS},
    auth=ApiKeyAuth("credit:write"),
    openapi_extra={"parameters": [idempotency_key_parameter(required=True)]},
)
def post_transaction(
    request: HttpRequest, account_id: uuid.UUID, payload: TransactionIn, idempotency_key: str | None = IdempotencyKeyHeader
):
    """Post a purchase, payment or refund; the response carries the balance and available amount after it.

    A refusal changes nothing and is replayed for its key like a success.
    """

    def post() -> tuple[int, dict]:
        posted = services.post_transaction(account_id=account_id, **payload.dict())
        return 201, TransactionOut.from_orm(posted).model_dump(mode="json")

    return respond_idempotently(request, key=idempotency_key, operation=post)


@router.get(
    "/accounts/{account_id}/transactions",
    response={200: list[TransactionOut], **error_responses(ErrorCode.ACCOUNT_NOT_FOUND)},
    auth=ApiKeyAuth("credit:read"),
)
@paginate(Pagination)
def list_transactions(request: HttpRequest, account_id: uuid.UUID):
    """The account's transactions, newest first."""
    return selectors.transaction_list(account_id=account_id)


@router.get(
    "/transactions/{transaction_id}",
    response={200: TransactionOut, **error_responses(ErrorCode.TRANSACTION_NOT_FOUND)},
    auth=ApiKeyAuth("credit:read"),
)
def get_transaction(request: HttpRequest, transaction_id: uuid.UUID):
    return selectors.transaction_get(transaction_id=transaction_id)


@router.post(
    "/transactions/{transaction_id}/reverse",
    response={201: TransactionOut, **REVERSE_ERRORS},
    auth=ApiKeyAuth("credit:write"),
    openapi_extra={"parameters": [idempotency_key_parameter(required=False)]},
)
def reverse_transaction(
    request: HttpRequest, transaction_id: uuid.UUID, payload: ReverseIn, idempotency_key: str | None = IdempotencyKeyHeader
):
    """Post the reversal of a transaction (each is reversed at most once)."""

    def reverse() -> tuple[int, dict]:
        reversal = services.reverse_transaction(transaction_id=transaction_id, reason=payload.reason)
        return 201, TransactionOut.from_orm(reversal).model_dump(mode="json")

    return respond_idempotently(request, key=idempotency_key, operation=reverse, required=False)
