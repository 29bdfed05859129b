"""Settings of credit_manager: the shared ones from the environment, plus this service's apps and topics."""

from pathlib import Path

from common.events import USERS_TOPIC
from common.settings import service_settings

globals().update(
    service_settings(
        service="credit_manager",
        base_dir=Path(__file__).resolve().parent.parent,
        apps=["accounts"],
        consumed_topics=[USERS_TOPIC],
        api_scopes=["credit:read", "credit:write"],
    )
)
