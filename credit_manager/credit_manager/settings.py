"""Settings of credit_manager: the shared ones from the environment, plus this service's apps and topics."""

from datetime import timedelta
from pathlib import Path

import environ

from common.events import USERS_TOPIC
from common.settings import service_settings

globals().update(
    service_settings(
        service="credit_manager",
        base_dir=Path(__file__).resolve().parent.parent,
        apps=["common.idempotency", "accounts", "analysis", "ledger", "authorizations", "approvals"],
        consumed_topics=[USERS_TOPIC],
        api_scopes=["credit:read", "credit:write"],
    )
)

# Where an account's page links to its customer in user_manager's back office.
USER_MANAGER_ADMIN_URL = environ.Env().str("USER_MANAGER_ADMIN_URL", default="http://127.0.0.1:8001/admin/")

# Four eyes: a money decision asked by one operator must be approved by a second within this time.
APPROVAL_EXPIRY_HOURS = environ.Env().int("APPROVAL_EXPIRY_HOURS", default=24)

# Limit requests whose analysis task was lost (a broker outage) are queued again by a periodic sweep;
# a request still pending one whole period after it was taken lost its task.
LIMIT_REQUEST_SWEEP_SECONDS = environ.Env().int("LIMIT_REQUEST_SWEEP_SECONDS", default=60)

CELERY_BEAT_SCHEDULE |= {  # noqa: F821 - defined by service_settings above
    "limit-requests-sweep": {
        "task": "analysis.requeue_pending_limit_requests",
        "schedule": timedelta(seconds=LIMIT_REQUEST_SWEEP_SECONDS),
    },
    # Holds past their expiry no longer count; the sweep records their expiry and announces it.
    "authorization-expiry-sweep": {
        "task": "authorizations.expire_due_holds",
        "schedule": timedelta(seconds=environ.Env().int("AUTHORIZATION_EXPIRY_SWEEP_SECONDS", default=60)),
    },
    # Only credit_manager's POSTs take an Idempotency-Key; keys past their retention are forgotten.
    "idempotency-purge": {"task": "common.idempotency.purge_expired_keys", "schedule": timedelta(hours=1)},
}
