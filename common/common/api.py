"""The NinjaAPI of a service: one error shape (``code`` + ``detail``) for every failure, always JSON.

Every operation is rate limited (``common.ratelimit``: 429 ``RATE_LIMITED`` with ``Retry-After``).
A request that fails on a backing service (the database, Redis, the task broker) is answered
503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``; anything unexpected is 500 ``INTERNAL_ERROR``.
Both happen before a change commits (the services change data in one transaction, and what runs
after commit is guarded), so a 5xx always means nothing happened.
"""

from __future__ import annotations

import logging
import sys
from functools import cache
from typing import Any, Literal, Union

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request, page_not_found, server_error
from django_redis.exceptions import ConnectionInterrupted
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.renderers import JSONRenderer
from pydantic import create_model

from common.celery import DATABASE_UNAVAILABLE
from common.errors import DomainError, ErrorCode
from common.ratelimit import RateLimit, count_request, group_of

logger = logging.getLogger(__name__)

BACKING_SERVICE_UNAVAILABLE = (
    *DATABASE_UNAVAILABLE,
    ConnectionInterrupted,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
API_PREFIX = "/api/"
# How every API of the platform writes its answers (ninja's default, named so an endpoint that keeps a
# rendered answer renders it the same way).
RENDERER = JSONRenderer()


def create_api(*, title: str, description: str) -> NinjaAPI:
    """An API under ``/api/v1/`` with OpenAPI at ``/api/v1/openapi.json`` and docs at ``/api/v1/docs``."""
    api = NinjaAPI(
        title=title, version="1", description=description, urls_namespace="api-v1", throttle=RateLimit(), renderer=RENDERER
    )

    def error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return api.create_response(request, exc.body(), status=exc.status)

    api.add_exception_handler(DomainError, error)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error(request, DomainError(ErrorCode.VALIDATION_ERROR, errors=[_field_error(e) for e in exc.errors]))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        """A request without a valid key counts against its address (ninja checks the key before the limits)."""
        retry_after = count_request(request, group_of(request), key_id=None)
        if retry_after is not None:
            response = error(request, DomainError(ErrorCode.RATE_LIMITED))
            response["Retry-After"] = str(retry_after)
            return response
        return error(request, DomainError(ErrorCode.NOT_AUTHENTICATED))

    @api.exception_handler(Throttled)
    def rate_limited(request: HttpRequest, exc: Throttled) -> HttpResponse:
        """Past a rate limit; ninja adds ``Retry-After`` from the limit's ``wait()``."""
        return error(request, DomainError(ErrorCode.RATE_LIMITED))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error(request, DomainError(ErrorCode.NOT_FOUND))

    @api.exception_handler(HttpError)
    def unreadable(request: HttpRequest, exc: HttpError) -> HttpResponse:
        """ninja's own refusals: a body or parameters it cannot parse."""
        return error(request, DomainError(ErrorCode.MALFORMED_REQUEST, str(exc)))

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _server_error_response(exc)

    return api


def rendered(request: HttpRequest, schema: type[Schema], obj: Any) -> str:
    """``obj`` as an endpoint declaring ``schema`` for its 200 answers it (to keep the answer, e.g. in a cache)."""
    return RENDERER.render(request, schema.from_orm(obj).model_dump(), response_status=200)


def rendered_response(body: str) -> HttpResponse:
    """A 200 answer of an endpoint that kept its rendered body."""
    return HttpResponse(body, content_type=f"{RENDERER.media_type}; charset={RENDERER.charset}")


def error_responses(*codes: ErrorCode) -> dict[int, Any]:
    """The error responses of an endpoint for its OpenAPI schema: ``codes`` (what its services refuse
    with) plus what every endpoint can answer (a request Django cannot read, invalid input, a missing
    key or scope, a rate limit, an outage).

    Each code is one schema named after it whose ``code`` is that constant; a status with several
    codes declares their union, so clients and schemathesis see exactly which codes can come back.
    """
    every = [
        ErrorCode.MALFORMED_REQUEST,
        ErrorCode.VALIDATION_ERROR,
        ErrorCode.NOT_AUTHENTICATED,
        ErrorCode.INSUFFICIENT_SCOPE,
        ErrorCode.RATE_LIMITED,
        ErrorCode.SERVICE_UNAVAILABLE,
    ]
    by_status: dict[int, list[type[Schema]]] = {}
    for code in dict.fromkeys([*codes, *every]):
        by_status.setdefault(code.status, []).append(_error_schema(code))
    return {status: schemas[0] if len(schemas) == 1 else Union[tuple(schemas)] for status, schemas in by_status.items()}  # noqa: UP007


class FieldError(Schema):
    field: str | None
    message: str
    type: str


@cache
def _error_schema(code: ErrorCode) -> type[Schema]:
    name = "".join(part.title() for part in code.split("_"))
    fields: dict[str, Any] = {"code": (Literal[code.value], ...), "detail": (str, ...)}
    if code == ErrorCode.VALIDATION_ERROR:
        fields["errors"] = (list[FieldError], ...)
    model = create_model(name if name.endswith("Error") else f"{name}Error", __base__=Schema, **fields)
    model.__doc__ = f"{code.status}: {code.meaning}"
    return model


def _server_error_response(exc: BaseException | None) -> JsonResponse:
    """503 when a backing service failed, else 500; logged by kind (an exception's text may hold data)."""
    if isinstance(exc, BACKING_SERVICE_UNAVAILABLE):
        logger.warning("request failed, a backing service is unavailable: %s", exc.__class__.__name__)
        response = JsonResponse(DomainError(ErrorCode.SERVICE_UNAVAILABLE).body(), status=503)
        response["Retry-After"] = str(settings.API_RETRY_AFTER_SECONDS)
        return response
    logger.error("request failed unexpectedly: %s", exc.__class__.__name__ if exc else "unknown error")
    return JsonResponse(DomainError(ErrorCode.INTERNAL_ERROR).body(), status=500)


def bad_request_handler(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 view for the project, for what it refuses before any view runs (a ``Host`` it does not
    serve, a suspicious request): JSON under ``/api/``, Django's own page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(DomainError(ErrorCode.MALFORMED_REQUEST).body(), status=400)
    return bad_request(request, exception)


def not_found_handler(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 view for the project: JSON under ``/api/``, Django's own page elsewhere (the admin)."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(DomainError(ErrorCode.NOT_FOUND).body(), status=404)
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
