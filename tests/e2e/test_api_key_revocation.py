"""Revoking an API key reaches every API process within a second, however long each would remember a key it
accepted; and what the processes log never shows a key."""

import time

import pytest
import requests

from common.devstack import processes as process_commands
from common.devstack.services import free_port
from common.testing import wait_until
from stack import Process

pytestmark = pytest.mark.e2e

REVOCATION_BOUND_SECONDS = 1.0
A_CUSTOMER = "/api/v1/users/00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def api_urls(platform, log_dir):
    """Two more API processes of user_manager with one worker each (so each request reaches the memory meant),
    each remembering a key it accepted for 30 s: only the revocation's announcement makes them forget it sooner."""
    service = platform["user_manager"]
    env = {**service.env, "API_KEY_LOCAL_CACHE_SECONDS": "30"}
    processes, urls = [], []
    for name in ("api-a", "api-b"):
        port = free_port()
        argv = process_commands.api(service.name, bind=f"127.0.0.1:{port}", workers=1)
        processes.append(Process(f"{service.name}-{name}", argv, cwd=service.dir, env=env, log_dir=log_dir).start())
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        wait_until(
            lambda url=url: requests.get(f"{url}/api/v1/openapi.json", timeout=2).ok,
            timeout=30,
            what=f"the API at {url}",
            retry_on=(requests.ConnectionError, requests.Timeout),
        )
    yield urls
    for process in processes:
        process.stop()


def logs_of_every_process(log_dir) -> str:
    return "\n".join(path.read_text(errors="replace") for path in log_dir.glob("*.log"))


def answer(url: str, headers: dict[str, str]) -> int:
    return requests.get(f"{url}{A_CUSTOMER}", headers=headers, timeout=5).status_code


def test_a_revoked_key_is_refused_by_every_api_process_within_a_second(platform, api_urls, log_dir):
    service = platform["user_manager"]
    headers = service.issue_key("users:read")
    raw_key = headers["Authorization"].removeprefix("Bearer ")
    prefix = raw_key[:10]
    for url in api_urls:  # each process looks the key up once, then answers from its memory
        assert [answer(url, headers) for _ in range(3)] == [404, 404, 404]

    revoked = service.manage("revoke_api_key", "--prefix", prefix)
    revoked_at = time.monotonic()

    assert f"API key {prefix}" in revoked.stdout
    wait_until(
        lambda: all(answer(url, headers) == 401 for url in api_urls),
        timeout=REVOCATION_BOUND_SECONDS,
        interval=0.05,
        what="every API process to refuse the revoked key",
    )
    assert time.monotonic() - revoked_at <= REVOCATION_BOUND_SECONDS
    assert {answer(url, headers) for url in api_urls for _ in range(3)} == {401}
    assert raw_key not in logs_of_every_process(log_dir)


def test_each_key_records_its_last_use_once_whichever_process_serves_it(platform, api_urls):
    service = platform["user_manager"]
    headers = service.issue_key("users:read")
    prefix = headers["Authorization"].removeprefix("Bearer ")[:10]
    for url in api_urls:
        assert answer(url, headers) == 404
    [(last_used_at,)] = service.sql("SELECT last_used_at FROM apikeys_apikey WHERE prefix = %s", (prefix,))
    assert last_used_at is not None
    for url in api_urls:
        answer(url, headers)
    assert service.sql("SELECT last_used_at FROM apikeys_apikey WHERE prefix = %s", (prefix,)) == [(last_used_at,)]
