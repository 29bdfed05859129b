"""Decision and limit request endpoints: thin; the rules are in ``analysis.services``."""

import uuid

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from analysis import selectors, services
from analysis.schemas import DecisionOut, LimitRequestIn, LimitRequestOut
from common.apikeys.auth import ApiKeyAuth
from common.idempotency.api import IdempotencyKeyHeader
from common.idempotency.services import respond_idempotently
from common.pagination import Pagination

router = Router(tags=["credit analysis"])


@router.get("/accounts/{account_id}/decisions", response=list[DecisionOut], auth=ApiKeyAuth("credit:read"))
@paginate(Pagination)
def list_decisions(request: HttpRequest, account_id: uuid.UUID):
    """The account's credit decisions, newest first, each with its score, breakdown, reasons and policy version."""
    return selectors.decision_list(account_id=account_id)


@router.post("/accounts/{account_id}/limit-requests", response={202: LimitRequestOut}, auth=ApiKeyAuth("credit:write"))
def request_limit(
    request: HttpRequest, account_id: uuid.UUID, payload: LimitRequestIn, idempotency_key: str | None = IdempotencyKeyHeader
):
    """Ask for a new limit; it is analysed asynchronously (poll ``GET /limit-requests/{id}``).

    Refused (422): ``ACCOUNT_NOT_ACTIVE``, ``LIMIT_BELOW_BALANCE``, ``LIMIT_UNCHANGED``; 409
    ``LIMIT_REQUEST_OPEN`` while another request of the account is being decided.
    """

    def create() -> tuple[int, dict]:
        limit_request = services.request_limit(account_id=account_id, requested_limit=payload.requested_limit)
        return 202, LimitRequestOut.from_orm(limit_request).model_dump(mode="json")

    return respond_idempotently(request, key=idempotency_key, operation=create, required=False)


@router.get("/limit-requests/{request_id}", response=LimitRequestOut, auth=ApiKeyAuth("credit:read"))
def get_limit_request(request: HttpRequest, request_id: uuid.UUID):
    return selectors.limit_request_get(request_id=request_id)
