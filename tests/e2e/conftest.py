import os
import tempfile
from pathlib import Path

import pytest

from stack import Broker, Service, flush_redis, recreate_database, service_env

# Redis databases of this suite: user_manager cache/broker, credit_manager cache/broker
# (E2E_REDIS_BASE moves them, so two runs can share one Redis server).
_base = int(os.environ.get("E2E_REDIS_BASE", "8"))
USER_MANAGER_REDIS = (_base, _base + 1)
CREDIT_MANAGER_REDIS = (_base + 2, _base + 3)


@pytest.fixture(scope="session")
def log_dir():
    with tempfile.TemporaryDirectory(prefix="e2e-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def broker(log_dir):
    broker = Broker(log_dir)
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture(scope="session")
def platform(broker, log_dir):
    """Both services, migrated, with every process running; logs printed if a test fails."""
    services = {
        "user_manager": Service(
            "user_manager", service_env("user_manager", broker=broker, redis_dbs=USER_MANAGER_REDIS), log_dir
        ),
        "credit_manager": Service(
            "credit_manager",
            # A short visibility timeout, so a task whose worker was killed is redelivered within seconds.
            service_env(
                "credit_manager",
                broker=broker,
                redis_dbs=CREDIT_MANAGER_REDIS,
                CELERY_VISIBILITY_TIMEOUT="10",
                CELERY_UNACKED_RESTORE_SECONDS="2",
            ),
            log_dir,
        ),
    }
    # Each back office links to the other where this run serves it.
    services["user_manager"].env["CREDIT_MANAGER_ADMIN_URL"] = f"{services['credit_manager'].url}/admin/"
    services["credit_manager"].env["USER_MANAGER_ADMIN_URL"] = f"{services['user_manager'].url}/admin/"
    for db in (*USER_MANAGER_REDIS, *CREDIT_MANAGER_REDIS):
        flush_redis(db)
    for service in services.values():
        recreate_database(service.database)
        service.manage("migrate", "--noinput")
        service.manage("ensure_topics")
        service.manage("collectstatic", "--noinput")  # the admin's styles and scripts, served by the API processes
    for service in services.values():
        service.start()
    yield services
    for service in services.values():
        service.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)  # a browser test's page takes a screenshot when its test failed
    platform = item.funcargs.get("platform") if hasattr(item, "funcargs") else None
    if report.failed and platform:
        report.sections.append(("process logs", "\n".join(s.logs() for s in platform.values())))


OPERATOR_PASSWORD = "e2e-operator-password"  # noqa: S105 - a throw-away user of the test's own databases
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# What Debian's chromium needs to start headless here: no sandbox as root, and no calls home
# (this machine's closed network refuses them, many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def operators(platform) -> dict[str, tuple[str, str]]:
    """A back office superuser in each service: (user name, password)."""
    for service in platform.values():
        service.manage(
            "createsuperuser", "--noinput", "--username", "operator", "--email", "operator@example.com",
            env={"DJANGO_SUPERUSER_PASSWORD": OPERATOR_PASSWORD},
        )  # fmt: skip
    # credit_manager's four eyes: one who asks, one who approves (the roles the migrations seed).
    platform["credit_manager"].manage(
        "shell", "-c",
        "from django.contrib.auth.models import Group, User\n"
        f"for name, role in (('maker', 'Back office operators'), ('checker', 'Back office supervisors')):\n"
        f"    user = User.objects.create_user(name, password='{OPERATOR_PASSWORD}', is_staff=True)\n"
        "    user.groups.add(Group.objects.get(name=role))\n",
    )  # fmt: skip
    return {name: ("operator", OPERATOR_PASSWORD) for name in platform}


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium (``make test`` installs it), driven by Playwright; never a downloaded browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium, request):
    """A fresh browser (its own cookies) at an operator's screen size; a failed test leaves a screenshot of
    every page it had open in ``test-artifacts/``."""
    context = chromium.new_context(viewport={"width": 1366, "height": 800})
    context.set_default_timeout(15_000)
    yield context
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for index, page in enumerate(context.pages):
            page.screenshot(path=ARTIFACTS / f"{request.node.name}-{index}.png", full_page=True)
    context.close()
