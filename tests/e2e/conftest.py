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
        "user_manager": Service("user_manager", service_env("user_manager", broker=broker, redis_dbs=USER_MANAGER_REDIS), log_dir),
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
    for db in (*USER_MANAGER_REDIS, *CREDIT_MANAGER_REDIS):
        flush_redis(db)
    for service in services.values():
        recreate_database(service.database)
        service.manage("migrate", "--noinput")
        service.manage("ensure_topics")
    for service in services.values():
        service.start()
    yield services
    for service in services.values():
        service.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    platform = item.funcargs.get("platform") if hasattr(item, "funcargs") else None
    if report.failed and platform:
        report.sections.append(("process logs", "\n".join(s.logs() for s in platform.values())))
