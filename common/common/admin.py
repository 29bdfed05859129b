"""Admin building blocks shared by both back offices: read-only history, and actions that run a service
on each selected row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.http import HttpRequest

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
