"""The page an operator sees once their admin login is locked out (axes' ``AXES_LOCKOUT_CALLABLE``)."""

from __future__ import annotations

from axes.helpers import get_cool_off, get_failure_limit
from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from common.admin import page_template

# Kept here rather than in a template file: the common package ships only Python modules.
LOCKED_OUT_PAGE = """{% extends "admin/base_site.html" %}
{% block title %}Login locked | {{ site_title }}{% endblock %}
{% block content %}
<h1>Login locked</h1>
<p>This account failed to log in {{ failure_limit }} times in a row from your address, so logins to it from
there are refused for now.</p>
<p>{% if minutes %}Try again in {{ minutes }} minutes (each new try restarts the wait), or ask{% else %}Ask{% endif %}
a back office supervisor to release the lockout.</p>
{% endblock %}
"""


def locked_out(request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None) -> HttpResponse:
    """429 with the admin's look: why the login is refused, for how long, and who can lift it."""
    cool_off = get_cool_off(request)
    context = {
        **admin.site.each_context(request),
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return HttpResponse(page_template(LOCKED_OUT_PAGE).render(context, request), status=429)
