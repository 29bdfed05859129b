"""The admin logins' lockouts, as axes lists them, with a supervisor's action to release one."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from common.admin import apply_each
from common.backoffice import services

admin.site.unregister(AccessAttempt)  # registered by axes, whose app comes first


@admin.register(AccessAttempt)
class LockoutAdmin(AccessAttemptAdmin):
    actions = [*AccessAttemptAdmin.actions, "release"]

    @admin.action(description="Release: let these accounts log in again from these addresses", permissions=["delete"])
    def release(self, request: HttpRequest, attempts: QuerySet[AccessAttempt]) -> None:
        apply_each(
            self,
            request,
            attempts,
            lambda attempt: services.release_lockout(attempt=attempt, released_by=request.user),
            done="released",
        )
