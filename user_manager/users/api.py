"""Customer endpoints: thin; the rules are in ``users.services``.

Every customer response carries ``ETag: "<version>"``; changes honour ``If-Match`` (412 when the
customer has moved on since that version).
"""

import re
import uuid

from django.http import HttpRequest, HttpResponse
from ninja import Header, Query, Router
from ninja.pagination import paginate
from pydantic.json_schema import SkipJsonSchema

from common.api import error_responses, rendered, rendered_response
from common.apikeys.auth import ApiKeyAuth
from common.errors import DomainError, ErrorCode
from common.pagination import Pagination
from users import selectors, services
from users.models import Customer
from users.schemas import CustomerFilters, CustomerIn, CustomerOut, CustomerPatch, StatusChangeIn

router = Router(tags=["customers"])
READ = ApiKeyAuth("users:read")
WRITE = ApiKeyAuth("users:write")
IfMatch = Header(None, alias="If-Match", description='The version the change is based on, e.g. "3" (from the ETag).')
# A header left out is None; one sent is text, never null, so the schema declares text only.
OptionalHeader = str | SkipJsonSchema[None]

# What each operation's services refuse with (the catalogue's codes), on top of what any request can get.
CHANGE_ERRORS = (ErrorCode.CUSTOMER_NOT_FOUND, ErrorCode.VERSION_MISMATCH, ErrorCode.CUSTOMER_CLOSED)
CREATE_ERRORS = error_responses(ErrorCode.EMAIL_TAKEN, ErrorCode.TAX_ID_TAKEN)
READ_ERRORS = error_responses(ErrorCode.CUSTOMER_NOT_FOUND)
UPDATE_ERRORS = error_responses(*CHANGE_ERRORS, ErrorCode.EMAIL_TAKEN)
BLOCK_ERRORS = error_responses(*CHANGE_ERRORS, ErrorCode.CUSTOMER_ALREADY_BLOCKED)
UNBLOCK_ERRORS = error_responses(*CHANGE_ERRORS, ErrorCode.CUSTOMER_NOT_BLOCKED)
CLOSE_ERRORS = error_responses(*CHANGE_ERRORS)


@router.post("", response={201: CustomerOut, **CREATE_ERRORS}, auth=WRITE)
def create_customer(request: HttpRequest, response: HttpResponse, payload: CustomerIn):
    return 201, _tagged(response, services.register_customer(payload))


@router.get("", response={200: list[CustomerOut], **error_responses()}, auth=READ)
@paginate(Pagination)
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]):
    return selectors.customer_list(**filters.dict())


@router.get("/{customer_id}", response={200: CustomerOut, **READ_ERRORS}, auth=READ)
def get_customer(request: HttpRequest, customer_id: uuid.UUID):
    """Answered as it was rendered when the customer last changed (the cache keeps the answer, not the row)."""
    version, body = selectors.customer_rendered(
        customer_id=customer_id, render=lambda customer: (customer.version, rendered(request, CustomerOut, customer))
    )
    return _tag(rendered_response(body), version)


@router.patch("/{customer_id}", response={200: CustomerOut, **UPDATE_ERRORS}, auth=WRITE)
def update_customer(
    request: HttpRequest,
    response: HttpResponse,
    customer_id: uuid.UUID,
    payload: CustomerPatch,
    if_match: OptionalHeader = IfMatch,
):
    """Change only the fields sent; ``If-Match`` makes it conditional on the version read."""
    changes = payload.model_dump(exclude_unset=True)
    customer = services.update_customer(customer_id=customer_id, expected_version=_version(if_match), **changes)
    return _tagged(response, customer)


@router.post("/{customer_id}/block", response={200: CustomerOut, **BLOCK_ERRORS}, auth=WRITE)
def block_customer(
    request: HttpRequest,
    response: HttpResponse,
    customer_id: uuid.UUID,
    payload: StatusChangeIn | None = None,
    if_match: OptionalHeader = IfMatch,
):
    """Block an active customer; the body (a reason) is optional."""
    change = services.block_customer(customer_id=customer_id, reason=_reason(payload), expected_version=_version(if_match))
    return _tagged(response, change)


@router.post("/{customer_id}/unblock", response={200: CustomerOut, **UNBLOCK_ERRORS}, auth=WRITE)
def unblock_customer(
    request: HttpRequest,
    response: HttpResponse,
    customer_id: uuid.UUID,
    payload: StatusChangeIn | None = None,
    if_match: OptionalHeader = IfMatch,
):
    """Make a blocked customer active again; the body (a reason) is optional."""
    change = services.unblock_customer(customer_id=customer_id, reason=_reason(payload), expected_version=_version(if_match))
    return _tagged(response, change)


@router.post("/{customer_id}/close", response={200: CustomerOut, **CLOSE_ERRORS}, auth=WRITE)
def close_customer(
    request: HttpRequest,
    response: HttpResponse,
    customer_id: uuid.UUID,
    payload: StatusChangeIn | None = None,
    if_match: OptionalHeader = IfMatch,
):
    """Close a customer (a soft delete: the record and its history stay); the body (a reason) is optional."""
    change = services.close_customer(customer_id=customer_id, reason=_reason(payload), expected_version=_version(if_match))
    return _tagged(response, change)


def _reason(payload: StatusChangeIn | None) -> str:
    return payload.reason if payload else ""


def _tagged(response: HttpResponse, customer: Customer) -> Customer:
    _tag(response, customer.version)
    return customer


def _tag(response: HttpResponse, version: int) -> HttpResponse:
    response["ETag"] = f'"{version}"'
    return response


def _version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` names (None when absent or ``*``); 412 when it names no single version."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = re.fullmatch(r'\s*"([0-9]{1,9})"\s*', if_match)
    if tag is None:
        raise DomainError(ErrorCode.VERSION_MISMATCH, 'If-Match must name one version as the ETag gives it, e.g. "3".')
    return int(tag[1])
