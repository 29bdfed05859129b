"""Log context: every log line carries the request id or the event id it belongs to."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_context: ContextVar[dict[str, str] | None] = ContextVar("log_context", default=None)


@contextlib.contextmanager
def log_context(**values: str) -> Iterator[None]:
    """Attach ``values`` (e.g. event_id, event_type) to every log line written inside the block."""
    token = _context.set({**(_context.get() or {}), **values})
    try:
        yield
    finally:
        _context.reset(token)


def current_request_id() -> str:
    """The id of the request being handled ("" outside one)."""
    return (_context.get() or {}).get("request_id", "")


class LogContextFilter(logging.Filter):
    """Copies the current log context onto each record, for the JSON formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            setattr(record, key, value)
        return True


class RequestIdMiddleware:
    """Tags the request's log lines with an id (the caller's ``X-Request-ID`` or a new one)."""

    header = "X-Request-ID"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get(self.header, "")[:64] or uuid.uuid4().hex
        with log_context(request_id=request_id):
            response = self.get_response(request)
        response[self.header] = request_id
        return response
