"""Card authorization endpoints: thin; the rules are in ``authorizations.services``.

Every POST takes an ``Idempotency-Key`` (a retry gets the first response again); a network retry of
an authorization request with a new key is recognised by its ``network_reference`` instead.
"""

import uuid
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from authorizations import selectors, services
from authorizations.models import Authorization
from authorizations.schemas import AuthorizationDetailOut, AuthorizationIn, AuthorizationOut, CaptureIn, IncrementIn, ReversalIn
from common.api import error_responses
from common.apikeys.auth import ApiKeyAuth
from common.errors import ErrorCode
from common.idempotency.api import IdempotencyKeyHeader, idempotency_key_parameter
from common.idempotency.services import respond_idempotently
from common.pagination import Pagination

router = Router(tags=["card authorizations"])

IDEMPOTENT = {"parameters": [idempotency_key_parameter(required=True)]}
KEY_ERRORS = (
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED,
    ErrorCode.IDEMPOTENCY_KEY_INVALID,
    ErrorCode.IDEMPOTENCY_KEY_REUSED,
)
CHANGE_ERRORS = (*KEY_ERRORS, ErrorCode.AUTHORIZATION_NOT_FOUND, ErrorCode.AUTHORIZATION_FINAL)


class StatusFilter(Schema):
    status: Literal["pending", "closed", "reversed", "expired", "declined"] | None = None


def _detail(authorization: Authorization) -> dict:
    """The authorization as every POST answers it: with its history and the account after it, as the
    service returned it (it keeps the history it read under the lock and what it recorded), not read back."""
    return AuthorizationDetailOut.from_orm(authorization).model_dump(mode="json")


@router.post(
    "/accounts/{account_id}/authorizations",
    response={
        200: AuthorizationDetailOut,
        201: AuthorizationDetailOut,
        **error_responses(*KEY_ERRORS, ErrorCode.ACCOUNT_NOT_FOUND, ErrorCode.NETWORK_REFERENCE_REUSED),
    },
    auth=ApiKeyAuth("credit:write"),
    openapi_extra=IDEMPOTENT,
)
def authorize(
    request: HttpRequest, account_id: uuid.UUID, payload: AuthorizationIn, idempotency_key: str | None = IdempotencyKeyHeader
):
    """Approve (hold the amount) or decline a card authorization; a declined one is recorded too (201 either way).

    The same ``network_reference`` on the account again answers 200 with the authorization it names.
    """

    def run() -> tuple[int, dict]:
        merchant = services.Merchant(name=payload.merchant.name, mcc=payload.merchant.mcc, country=payload.merchant.country or "")
        authorization, created = services.authorize(
            account_id=account_id, amount=payload.amount, merchant=merchant, network_reference=payload.network_reference
        )
        return 201 if created else 200, _detail(authorization)

    return respond_idempotently(request, key=idempotency_key, operation=run)


@router.post(
    "/authorizations/{authorization_id}/increments",
    response={201: AuthorizationDetailOut, **error_responses(*CHANGE_ERRORS)},
    auth=ApiKeyAuth("credit:write"),
    openapi_extra=IDEMPOTENT,
)
def increment(
    request: HttpRequest, authorization_id: uuid.UUID, payload: IncrementIn, idempotency_key: str | None = IdempotencyKeyHeader
):
    """Raise the hold, approved or declined like a request (the history's last entry says which)."""
    return respond_idempotently(
        request,
        key=idempotency_key,
        operation=lambda: (201, _detail(services.increment(authorization_id=authorization_id, amount=payload.amount))),
    )


@router.post(
    "/authorizations/{authorization_id}/captures",
    response={
        201: AuthorizationDetailOut,
        **error_responses(
            *CHANGE_ERRORS, ErrorCode.CAPTURE_EXCEEDS_AUTHORIZATION, ErrorCode.ACCOUNT_CLOSED, ErrorCode.AMOUNT_TOO_LARGE
        ),
    },
    auth=ApiKeyAuth("credit:write"),
    openapi_extra=IDEMPOTENT,
)
def capture(
    request: HttpRequest, authorization_id: uuid.UUID, payload: CaptureIn, idempotency_key: str | None = IdempotencyKeyHeader
):
    """Post the purchase (its transaction is in the history's last entry) and release that much of the hold.

    Accepted after expiry too (a late clearing); within the MCC's tolerance above the authorization,
    or beyond it when ``force`` is set, possibly leaving the account over its limit (``over_limit``).
    """

    def run() -> tuple[int, dict]:
        captured = services.capture(
            authorization_id=authorization_id, amount=payload.amount, final=payload.final, force=payload.force
        )
        return 201, _detail(captured)

    return respond_idempotently(request, key=idempotency_key, operation=run)


@router.post(
    "/authorizations/{authorization_id}/reversals",
    response={201: AuthorizationDetailOut, **error_responses(*CHANGE_ERRORS, ErrorCode.REVERSAL_EXCEEDS_HOLD)},
    auth=ApiKeyAuth("credit:write"),
    openapi_extra=IDEMPOTENT,
)
def reverse(
    request: HttpRequest,
    authorization_id: uuid.UUID,
    payload: ReversalIn | None = None,
    idempotency_key: str | None = IdempotencyKeyHeader,
):
    """Release part or all of the hold (all of it without a body)."""
    amount = payload.amount if payload else None
    return respond_idempotently(
        request,
        key=idempotency_key,
        operation=lambda: (201, _detail(services.reverse(authorization_id=authorization_id, amount=amount))),
    )


@router.get(
    "/authorizations/{authorization_id}",
    response={200: AuthorizationDetailOut, **error_responses(ErrorCode.AUTHORIZATION_NOT_FOUND)},
    auth=ApiKeyAuth("credit:read"),
)
def get_authorization(request: HttpRequest, authorization_id: uuid.UUID):
    """The authorization with its history: request, increments, captures, reversals, expiry."""
    return selectors.authorization_get(authorization_id=authorization_id)


@router.get(
    "/accounts/{account_id}/authorizations",
    response={200: list[AuthorizationOut], **error_responses(ErrorCode.ACCOUNT_NOT_FOUND)},
    auth=ApiKeyAuth("credit:read"),
)
@paginate(Pagination)
def list_authorizations(request: HttpRequest, account_id: uuid.UUID, filters: Query[StatusFilter]):
    """The account's authorizations, newest first, optionally of one status."""
    return selectors.authorization_list(account_id=account_id, status=filters.status)
