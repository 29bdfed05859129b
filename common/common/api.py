"""The NinjaAPI of a service: one error shape (``code`` + ``detail``) for every failure, always JSON.

A request that fails on a backing service (the database, Redis, the task broker) is answered
503 ``service_unavailable`` with ``Retry-After``; anything unexpected is 500 ``internal_error``.
Both happen before a change commits (the services change data in one transaction, and what runs
after commit is guarded), so a 5xx always means nothing happened.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, server_error
from django_redis.exceptions import ConnectionInterrupted
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from common.errors import DomainError

logger = logging.getLogger(__name__)

BACKING_SERVICE_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    ConnectionInterrupted,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
API_PREFIX = "/api/"


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

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _server_error_response(exc)

    return api


def _server_error_response(exc: BaseException | None) -> JsonResponse:
    """503 when a backing service failed, else 500; logged by kind (an exception's text may hold data)."""
    if isinstance(exc, BACKING_SERVICE_UNAVAILABLE):
        logger.warning("request failed, a backing service is unavailable: %s", exc.__class__.__name__)
        response = JsonResponse(
            {"code": "service_unavailable", "detail": "A service this request needs is unavailable; nothing was changed. Try again shortly."},
            status=503,
        )
        response["Retry-After"] = str(settings.API_RETRY_AFTER_SECONDS)
        return response
    logger.error("request failed unexpectedly: %s", exc.__class__.__name__ if exc else "unknown error")
    return JsonResponse({"code": "internal_error", "detail": "The request failed unexpectedly; nothing was changed."}, status=500)


def not_found_handler(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 view for the project: JSON under ``/api/``, Django's own page elsewhere (the admin)."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_error_handler(request: HttpRequest) -> HttpResponse:
    """Django's 500 view for the project (errors outside the API's own handlers): JSON under ``/api/``."""
    if request.path.startswith(API_PREFIX):
        return _server_error_response(sys.exception())
    return server_error(request)


def _field_error(entry: dict[str, Any]) -> dict[str, Any]:
    """One entry per field: where (without ninja's wrapper names), what, and a stable type."""
    location = [str(part) for part in entry.get("loc", ()) if part not in ("body", "payload", "query", "path", "header")]
    return {"field": ".".join(location) or None, "message": entry.get("msg", "invalid"), "type": entry.get("type", "invalid")}
