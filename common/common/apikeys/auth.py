"""django-ninja authentication by API key: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from common.apikeys.services import Caller, authenticate
from common.errors import DomainError, ErrorCode


class ApiKeyAuth(HttpBearer):
    """Accepts a valid key that holds every one of ``scopes``; 401 without a valid key, 403 without the scope."""

    def __init__(self, *scopes: str) -> None:
        super().__init__()
        self.scopes = frozenset(scopes)

    def __call__(self, request: HttpRequest) -> Caller | None:
        raw_key = request.headers.get("X-API-Key")
        if raw_key:
            return self.authenticate(request, raw_key)
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        caller = authenticate(token)
        if caller is None:
            return None
        missing = self.scopes - caller.scopes
        if missing:
            raise DomainError(ErrorCode.INSUFFICIENT_SCOPE, f"this API key lacks the scope(s): {', '.join(sorted(missing))}")
        return caller
