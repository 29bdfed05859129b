"""Credit account endpoints: thin; the rules are in ``accounts.services``."""

import uuid

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from accounts import selectors
from accounts.schemas import AccountOut
from common.api import error_responses, rendered, rendered_response
from common.apikeys.auth import ApiKeyAuth
from common.errors import ErrorCode
from common.pagination import Pagination

router = Router(tags=["accounts"], auth=ApiKeyAuth("credit:read"))


@router.get("", response={200: list[AccountOut], **error_responses()})
@paginate(Pagination)
def list_accounts(request: HttpRequest, user_id: uuid.UUID | None = None):
    return selectors.account_list(user_id=user_id)


@router.get("/{account_id}", response={200: AccountOut, **error_responses(ErrorCode.ACCOUNT_NOT_FOUND)})
def get_account(request: HttpRequest, account_id: uuid.UUID):
    """The account summary: status, limit, balance, available and the decision behind them (the cache
    keeps the answer as rendered, not the row)."""
    body = selectors.account_rendered(account_id=account_id, render=lambda account: rendered(request, AccountOut, account))
    return rendered_response(body)
