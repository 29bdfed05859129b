"""The operators' API (``/staff/api/v1/``): Django REST framework over the back office's own session and
permissions, for the same queues as the admin, through the same service functions.

Session authentication with CSRF (a logged-in operator's browser, or a script holding the session and
token), every action checked against the Django permission its admin action needs, errors in the
platform's shape (``{"code", "detail"}``, codes from ``common.errors``).
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework import permissions, serializers
from rest_framework.exceptions import APIException, NotAuthenticated, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.errors import DomainError, ErrorCode


def needs(*perms: str, one_of: bool = False) -> type[permissions.BasePermission]:
    """A permission class: a logged-in staff member holding every one of ``perms`` (at least one, ``one_of``)."""
    holds = any if one_of else all

    class Needs(permissions.BasePermission):
        def has_permission(self, request: HttpRequest, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.is_staff and holds(user.has_perm(p) for p in perms))

    Needs.__name__ = f"Needs({', '.join(perms)})"
    return Needs


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def reason_of(request) -> str:
    """The operator's reason in the request body (a 400 in the platform's shape if it is not one)."""
    reason = ReasonSerializer(data=request.data)
    reason.is_valid(raise_exception=True)
    return reason.validated_data["reason"]


def handle_errors(exc: Exception, context: dict) -> Response | None:
    """The platform's error shape for every refusal: a rule of the business, authentication, permission."""
    if isinstance(exc, DomainError):
        return Response(exc.body(), status=exc.status)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, NotAuthenticated):
        code = ErrorCode.NOT_AUTHENTICATED
    elif isinstance(exc, PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        code = ErrorCode.CSRF_FAILED
    elif isinstance(exc, PermissionDenied):
        code = ErrorCode.PERMISSION_DENIED
    elif response.status_code == 404:
        code = ErrorCode.NOT_FOUND
    elif response.status_code in (400, 422):
        code = ErrorCode.VALIDATION_ERROR
    else:
        code = ErrorCode.MALFORMED_REQUEST
    detail = exc.detail if isinstance(exc, APIException) else str(exc)
    response.data = {"code": str(code), "detail": detail if isinstance(detail, str) else code.meaning}
    return response
