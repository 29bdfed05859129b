"""Rate limits end to end: two API processes of user_manager (two API servers, as two hosts run them,
each with its own workers) count one key's requests together, in the platform's Redis."""

import pytest
import requests

from stack import Service

pytestmark = pytest.mark.e2e

READS_PER_KEY = 6


@pytest.fixture(scope="module")
def two_apis(platform, log_dir):
    """Two more user_manager APIs on the platform's database and Redis, with a small read limit per key."""
    apis = []
    for n in (1, 2):
        folder = log_dir / f"rate-limits-{n}"  # each API logs to a folder of its own
        folder.mkdir()
        env = {**platform["user_manager"].env, "API_RATE_LIMIT_READS_PER_KEY": str(READS_PER_KEY)}
        apis.append(Service("user_manager", env, folder))
    try:
        for api in apis:
            api.start("api")
        yield apis
    finally:
        for api in apis:
            api.stop()


def test_the_processes_count_a_keys_requests_together(two_apis):
    first, second = two_apis
    headers = first.issue_key("users:read")

    def read(api: Service) -> requests.Response:
        return requests.get(f"{api.url}/api/v1/users", headers=headers, timeout=10)

    allowed = [read(api).status_code for api in (first, second) * (READS_PER_KEY // 2)]
    assert allowed == [200] * READS_PER_KEY, "\n".join(api.logs() for api in two_apis)
    for api in (first, second):  # each process saw only half of the key's requests
        refused = read(api)
        assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED", refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
