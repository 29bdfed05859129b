"""Who is making the current changes: the operator logged into the back office or the API key of the
request (set per request by :class:`AuditActorMiddleware`), or the event a queue worker applies (set
by :func:`acting_for_event`: the change follows from another service's, recorded there with its actor)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from common.observability import current_request_id

_request: ContextVar[HttpRequest | None] = ContextVar("audited_request", default=None)
_event: ContextVar[Actor | None] = ContextVar("audited_event", default=None)


@dataclass(frozen=True)
class Actor:
    type: str  # "operator", "api_key" or "event"
    id: str
    name: str
    request_id: str  # for an event: its id, which the source service's trail shows too


def current_actor() -> Actor | None:
    """The request's actor, read when a change is recorded (the API key is known only after authentication)."""
    request = _request.get()
    if request is None:
        return _event.get()
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


@contextlib.contextmanager
def acting_for_event(*, event_id: object, source: str, event_type: str) -> Iterator[None]:
    """Changes made inside the block follow from the event (its id, the service and type it came as)."""
    token = _event.set(Actor("event", str(event_id), f"{source}: {event_type}", str(event_id)))
    try:
        yield
    finally:
        _event.reset(token)
