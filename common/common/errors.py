"""The domain's error type: every service raises these; the API maps them to JSON errors."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the business refused the operation. ``code`` is stable; ``detail`` is for humans."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.errors = errors or []

    def body(self) -> dict[str, Any]:
        """The API's error shape: ``code``, ``detail``, and ``errors`` (one per field) when any."""
        body: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidInput(DomainError):
    status = 422
    code = "validation_error"


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
