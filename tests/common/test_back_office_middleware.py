"""The back office's middleware (sessions, the logged-in operator, messages) runs on the admin's pages
and the staff API, and not on the public API's paths, which authenticate every request by its API
key: there it would only cost CPU. CSRF protection stays on every path."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.test import RequestFactory
from django.urls import resolve

from common.backoffice.middleware import AuthenticationMiddleware, MessageMiddleware, SessionMiddleware, back_office_only

pytestmark = pytest.mark.django_db


def handled(request: HttpRequest) -> tuple[HttpRequest, HttpResponse]:
    """The request as a view sees it after the back office's middleware, in the settings' order."""

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    csrf = CsrfViewMiddleware(view)

    def with_csrf(request: HttpRequest) -> HttpResponse:
        return csrf.process_view(request, view, (), {}) or csrf(request)

    chain = SessionMiddleware(AuthenticationMiddleware(MessageMiddleware(with_csrf)))
    return request, chain(request)


@pytest.mark.parametrize("path", ["/admin/", "/staff/api/v1/approvals/"])
def test_the_back_office_gets_the_session_the_operator_and_messages(path):
    request, response = handled(RequestFactory().get(path))
    assert hasattr(request, "session") and hasattr(request, "user") and hasattr(request, "_messages")
    assert response.status_code == 200


def test_the_public_api_gets_none_of_them():
    request, response = handled(RequestFactory().get("/api/v1/users"))
    assert not hasattr(request, "session") and not hasattr(request, "user") and not hasattr(request, "_messages")
    assert response.status_code == 200


def test_csrf_protection_stays_on_every_path_and_the_apis_views_are_exempt():
    factory = RequestFactory(enforce_csrf_checks=True)
    assert handled(factory.post("/admin/login/", {"username": "x"}))[1].status_code == 403
    assert handled(factory.post("/api/v1/users", {}))[1].status_code == 403  # a view not marked exempt
    assert resolve("/api/v1/users").func.csrf_exempt  # the API's views authenticate by key, never by cookie


def test_the_system_checks_still_find_the_middleware_the_admin_needs():
    from django.core.checks import run_checks

    assert not [message for message in run_checks() if message.id in {"admin.E408", "admin.E409", "admin.E410"}]


def test_a_middleware_with_a_view_hook_is_not_wrapped():
    with pytest.raises(TypeError, match="process_view"):
        back_office_only(CsrfViewMiddleware)
