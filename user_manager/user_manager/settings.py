"""Settings of user_manager: the shared ones from the environment, plus this service's apps and topics."""

from pathlib import Path

import environ

from common.events import CREDIT_TOPIC
from common.settings import service_settings

globals().update(
    service_settings(
        service="user_manager",
        base_dir=Path(__file__).resolve().parent.parent,
        apps=["users", "credit_summary"],
        consumed_topics=[CREDIT_TOPIC],
        api_scopes=["users:read", "users:write"],
    )
)

# Where a customer's page links to their credit account in credit_manager's back office.
CREDIT_MANAGER_ADMIN_URL = environ.Env().str("CREDIT_MANAGER_ADMIN_URL", default="http://127.0.0.1:8002/admin/")
