"""Decision and limit request endpoints: thin; the rules are in ``analysis.services``."""

import uuid

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from analysis import selectors, services
from analysis.schemas import DecisionOut, LimitRequestIn, LimitRequestOut
from common.api import error_responses
from common.apikeys.auth import ApiKeyAuth
from common.errors import ErrorCode
from common.idempotency.api import IdempotencyKeyHeader, idempotency_key_parameter
from common.idempotency.services import respond_idempotently
from common.pagination import Pagination

router = Router(tags=["credit analysis"])

REQUEST_LIMIT_ERRORS = error_responses(
    ErrorCode.ACCOUNT_NOT_FOUND,
    ErrorCode.ACCOUNT_NOT_ACTIVE,
    ErrorCode.LIMIT_BELOW_BALANCE,
    ErrorCode.LIMIT_UNCHANGED,
    ErrorCode.LIMIT_REQUEST_OPEN,
    ErrorCode.IDEMPOTENCY_KEY_INVALID,
    ErrorCode.IDEMPOTENCY_KEY_REUSED,
)


@router.get(
    "/accounts/{account_id}/decisions",
    response={200: list[DecisionOut], **error_responses(ErrorCode.ACCOUNT_NOT_FOUND)},
    auth=ApiKeyAuth("credit:read"),
)
@paginate(Pagination)
def list_decisions(request: HttpRequest, account_id: uuid.UUID):
    """The account's credit decisions, newest first, each with its score, breakdown, reasons and policy version."""
    return selectors.decision_list(account_id=account_id)


@router.post(
    "/accounts/{account_id}/limit-requests",
    response={202: LimitRequestOut, **REQUEST_LIMIT_ERRORS},
    auth=ApiKeyAuth("credit:write"),
    openapi_extra={"parameters": [idempotency_key_parameter(required=False)]},
)
def request_limit(request: HttpRequest, account_id: uuid.UUID, payload: LimitRequestIn, idempotency_key: str | None = IdempotencyKeyHeader):
    """Ask for a new limit; it is analysed asynchronously (poll ``GET /limit-requests/{id}``).

    One request of an account is decided at a time (``LIMIT_REQUEST_OPEN`` while another is).
    """

    def create() -> tuple[int, dict]:
        limit_request = services.request_limit(account_id=account_id, requested_limit=payload.requested_limit)
        return 202, LimitRequestOut.from_orm(limit_request).model_dump(mode="json")

    return respond_idempotently(request, key=idempotency_key, operation=create, required=False)


@router.get(
    "/limit-requests/{request_id}",
    response={200: LimitRequestOut, **error_responses(ErrorCode.LIMIT_REQUEST_NOT_FOUND)},
    auth=ApiKeyAuth("credit:read"),
)
def get_limit_request(request: HttpRequest, request_id: uuid.UUID):
    return selectors.limit_request_get(request_id=request_id)
