"""Who is making the current request's changes: the operator logged into the back office, or the API key
the request came with. Set per request by :class:`AuditActorMiddleware`; none in queue workers and
event handlers (their changes follow from an audited one, or from another service)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from common.observability import current_request_id

_request: ContextVar[HttpRequest | None] = ContextVar("audited_request", default=None)


@dataclass(frozen=True)
class Actor:
    type: str  # "operator" or "api_key"
    id: str
    name: str
    request_id: str


def current_actor() -> Actor | None:
    """The request's actor, read when a change is recorded (the API key is known only after authentication)."""
    request = _request.get()
    if request is None:
        return None
    caller = getattr(request, "auth", None)  # django-ninja's authenticated caller
    if caller is not None and hasattr(caller, "key_id"):
        return Actor("api_key", str(caller.key_id), caller.name, current_request_id())
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor("operator", str(user.pk), user.get_username(), current_request_id())
    return None


class AuditActorMiddleware:
    """Makes the request available to :func:`current_actor` while it is handled, and only then."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
