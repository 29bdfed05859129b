"""The back office's middleware, skipped on the public API's paths.

Sessions, the logged-in user and flash messages serve the admin's pages and the staff API, which an
operator's browser calls. The public API (``/api/``) authenticates every request by its API key and
answers JSON: there, these only cost CPU on every request. Each class below is Django's own,
subclassed, so the system checks that look for the original (the admin's) still find it. Django's
own ``CommonMiddleware`` (it validates the ``Host`` header) and ``CsrfViewMiddleware`` (the deployment
checks look for it by name; the API's views are exempt) stay on every path.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest

from common.api import API_PREFIX


def _on_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def back_office_only(middleware: type) -> type:
    """``middleware`` on every path but the public API's (sync only: the services run under WSGI)."""

    def __call__(self, request: HttpRequest) -> Any:
        if _on_api(request):
            return self.get_response(request)
        return middleware.__call__(self, request)

    hooks = [hook for hook in ("process_view", "process_template_response", "process_exception") if hasattr(middleware, hook)]
    if hooks:  # Django calls these itself, on every path
        raise TypeError(f"{middleware.__name__} has hooks this would not skip: {', '.join(hooks)}")
    methods: dict[str, Any] = {
        "__call__": __call__,
        "__doc__": f"{middleware.__name__}, skipped on the public API's paths.",
        "__module__": __name__,
        "sync_capable": True,
        "async_capable": False,
    }
    return type(middleware.__name__, (middleware,), methods)


SessionMiddleware = back_office_only(sessions.SessionMiddleware)
AuthenticationMiddleware = back_office_only(auth.AuthenticationMiddleware)
MessageMiddleware = back_office_only(messages.MessageMiddleware)
