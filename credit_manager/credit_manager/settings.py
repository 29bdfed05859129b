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
        apps=["accounts", "analysis", "ledger"],
        consumed_topics=[USERS_TOPIC],
        api_scopes=["credit:read", "credit:write"],
    )
)

# Limit requests whose analysis task was lost (a broker outage) are queued again by a periodic sweep;
# a request still pending one whole period after it was taken lost its task.
LIMIT_REQUEST_SWEEP_SECONDS = environ.Env().int("LIMIT_REQUEST_SWEEP_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["limit-requests-sweep"] = {  # noqa: F821 - defined by service_settings above
    "task": "analysis.requeue_pending_limit_requests",
    "schedule": timedelta(seconds=LIMIT_REQUEST_SWEEP_SECONDS),
}
