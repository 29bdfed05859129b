"""What the credit back office's actions share: a reason typed next to the action, and one service call
per selected row where a refusal of one row does not stop the others."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.http import HttpRequest

from common.errors import DomainError


class ReasonActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=500, help_text="Why (required by the actions that change money or limits)."
    )


def apply_each(
    model_admin: admin.ModelAdmin, request: HttpRequest, rows: Iterable, operation: Callable[[object], object], *, done: str
) -> None:
    """Run ``operation`` on each row and report how many were done and which were refused (with the code)."""
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
        model_admin.message_user(request, "Refused: " + "; ".join(refused), messages.ERROR)


def action_reason(request: HttpRequest) -> str:
    return request.POST.get("reason", "")
