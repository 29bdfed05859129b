"""The NinjaAPI of a service: one error shape (``code`` + ``detail``) for every failure."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from common.errors import DomainError


def create_api(*, title: str, description: str) -> NinjaAPI:
    """An API under ``/api/v1/`` with OpenAPI at ``/api/v1/openapi.json`` and docs at ``/api/v1/docs``."""
    api = NinjaAPI(title=title, version="1", description=description, urls_namespace="api-v1")

    def error(request: HttpRequest, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None) -> HttpResponse:
        return api.create_response(request, DomainError(detail, code=code, errors=errors).body(), status=status)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return api.create_response(request, exc.body(), status=exc.status)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error(request, 422, "validation_error", "The request is not valid.", [_field_error(e) for e in exc.errors])

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error(request, 401, "not_authenticated", "A valid API key is required (Authorization: Bearer <key>).")

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error(request, 404, "not_found", "Not found.")

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return error(request, exc.status_code, "http_error", str(exc))

    return api


def _field_error(entry: dict[str, Any]) -> dict[str, Any]:
    """One entry per field: where (without ninja's wrapper names), what, and a stable type."""
    location = [str(part) for part in entry.get("loc", ()) if part not in ("body", "payload", "query", "path", "header")]
    return {"field": ".".join(location) or None, "message": entry.get("msg", "invalid"), "type": entry.get("type", "invalid")}
