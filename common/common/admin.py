"""Admin building blocks shared by both back offices: read-only history, actions that run a service on
each selected row, and a confirmation with a reason before an action that cannot be taken back."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template import engines
from django.template.response import TemplateResponse

from common.errors import DomainError

Row = TypeVar("Row")


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """For history (events, ledger lines): operators look, they never add, edit or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """A record's history shown on its page (ledger lines, an authorization's steps): read, never changed."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReasonActionForm(ActionForm):
    """The action bar with a reason field, for actions whose service records why."""

    reason = forms.CharField(
        required=False, max_length=500, help_text="Why (required by the actions that change money or limits)."
    )


def action_reason(request: HttpRequest) -> str:
    """The reason typed in a ``ReasonActionForm`` (empty when none: the service decides if it needs one)."""
    return request.POST.get("reason", "")


def apply_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    rows: Iterable[Row],
    operation: Callable[[Row], object],
    *,
    done: str,
) -> None:
    """Run ``operation`` (one service call) on each row; a row the service refuses does not stop the others.

    The operator sees how many were ``done`` and, as a warning (a refusal is a rule, not a fault), each
    refused row with its code and the service's detail.
    """
    succeeded, refused = 0, []
    for row in rows:
        try:
            operation(row)
            succeeded += 1
        except DomainError as exc:
            refused.append(f"{row} ({exc.code}: {exc.detail})")
    if succeeded:
        model_admin.message_user(request, f"{succeeded} {done}.", messages.SUCCESS)
    if refused:
        model_admin.message_user(request, f"Refused: {'; '.join(refused)}.", messages.WARNING)


@functools.cache
def page_template(source: str):
    """A back office page written as a template string (the common package ships only Python modules),
    compiled once per process."""
    return engines["django"].from_string(source)


CONFIRMATION_PAGE = """{% extends "admin/base_site.html" %}
{% block title %}{{ title }} | {{ site_title }}{% endblock %}
{% block content %}
<p>{{ warning }}</p>
<ul>{% for row in rows %}<li>{{ row }}</li>{% endfor %}</ul>
<form method="post">{% csrf_token %}
  {% for row in rows %}<input type="hidden" name="_selected_action" value="{{ row.pk }}">{% endfor %}
  <input type="hidden" name="action" value="{{ action }}">
  <input type="hidden" name="confirmed" value="yes">
  {% if error %}<p class="errornote">{{ error }}</p>{% endif %}
  <p><label for="id_confirmed_reason">Reason (required, recorded with the change):</label><br>
  <textarea name="reason" id="id_confirmed_reason" rows="3" cols="80" maxlength="500" required>{{ reason }}</textarea></p>
  <input type="submit" value="{{ confirm_label }}" class="default">
  <a href="{{ back }}" class="button cancel-link">No, go back</a>
</form>
{% endblock %}
"""


def confirmed_reason(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    rows: QuerySet | list,
    *,
    action: str,
    title: str,
    warning: str,
    confirm_label: str,
    back: str | None = None,
) -> str | TemplateResponse:
    """The reason an operator typed on the confirmation page of ``action``, or that page (shown again,
    with an error, until a reason is typed). Nothing runs before the operator confirms."""
    reason = request.POST.get("reason", "").strip()
    if request.POST.get("confirmed") == "yes" and reason:
        return reason
    context = {
        **model_admin.admin_site.each_context(request), "title": title, "warning": warning, "rows": list(rows),
        "action": action, "confirm_label": confirm_label, "reason": reason, "back": back or request.get_full_path(),
        "error": "Type the reason first." if request.POST.get("confirmed") == "yes" else "",
    }  # fmt: skip
    return TemplateResponse(request, page_template(CONFIRMATION_PAGE), context)


def apply_each_confirmed(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    rows: QuerySet,
    operation: Callable[[Row, str], object],
    *,
    done: str,
    **confirmation: str,
) -> TemplateResponse | None:
    """An action that cannot be taken back: the confirmation page first (``confirmation``: the
    ``action``, ``title``, ``warning`` and ``confirm_label`` of :func:`confirmed_reason`), then
    ``operation(row, reason)`` on each row as :func:`apply_each` runs it."""
    reason = confirmed_reason(model_admin, request, rows, **confirmation)
    if isinstance(reason, TemplateResponse):
        return reason
    apply_each(model_admin, request, rows, lambda row: operation(row, reason), done=done)
    return None
