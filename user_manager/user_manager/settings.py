"""Settings of user_manager: the shared ones from the environment, plus this service's apps and topics."""

from pathlib import Path

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
