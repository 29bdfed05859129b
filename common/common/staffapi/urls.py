"""``/staff/api/v1/``: a service's operators' API, its OpenAPI schema and the browsable API's login."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from common.staffapi.views import AuditEntryViewSet, DeadLetterViewSet


def staff_api_urls(register=None) -> list:
    """The URL patterns, with the service's own viewsets added by ``register(router)``."""
    router = DefaultRouter()
    router.register("dead-letters", DeadLetterViewSet, basename="dead-letter")
    router.register("audit-entries", AuditEntryViewSet, basename="audit-entry")
    if register:
        register(router)
    return [
        path("schema/", SpectacularAPIView.as_view(), name="staff-api-schema"),
        path("auth/", include("rest_framework.urls")),
        path("", include(router.urls)),
    ]
