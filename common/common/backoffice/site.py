"""Both back offices' admin site: Django's, with what waits for operators on its index page
(``common.backoffice.dashboard``)."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse

from common.admin import page_template

# Kept here rather than in a template file: the common package ships only Python modules.
INDEX_PAGE = """{% extends "admin/index.html" %}
{% block content %}
<div class="module" id="operations">
<table>
<caption>Waiting and flowing</caption>
{% for figure in operations %}
<tr><th scope="row">{% if figure.link %}<a href="{{ figure.link }}">{{ figure.label }}</a>{% else %}{{ figure.label }}{% endif %}</th>
<td>{{ figure.value }}</td></tr>
{% endfor %}
</table>
</div>
{{ block.super }}
{% endblock %}
"""


class BackOfficeSite(AdminSite):
    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        from common.backoffice import dashboard  # models: importable only once the apps are loaded

        response = super().index(request, {**(extra_context or {}), "operations": dashboard.figures()})
        response.template_name = page_template(INDEX_PAGE)
        return response


class BackOfficeAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`BackOfficeSite` as ``admin.site`` (Django's documented way)."""

    default_site = "common.backoffice.site.BackOfficeSite"

