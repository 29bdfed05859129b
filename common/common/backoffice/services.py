"""The back office's own operations: releasing an admin login lockout."""

from __future__ import annotations

import logging

from axes.models import AccessAttempt
from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


def release_lockout(*, attempt: AccessAttempt, released_by: AbstractBaseUser) -> int:
    """Forget every failed login counted against the attempt's account from its address, so it may log in now.

    Failures are recorded per user agent as well and the lockout sums them: releasing only the selected row
    could leave the account locked. Returns how many records were forgotten.
    """
    forgotten, _ = AccessAttempt.objects.filter(username=attempt.username, ip_address=attempt.ip_address).delete()
    logger.info(
        "admin login lockout released",
        extra={"username": attempt.username, "ip_address": attempt.ip_address, "released_by": released_by.get_username()},
    )
    return forgotten
