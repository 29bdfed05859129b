"""schemathesis against the credit_manager API (in-process WSGI, real Postgres and Redis): whatever it
sends, the answer is never a server error.

Path ids are replaced by ids that exist, so the generated bodies reach the services instead of
stopping at a 404 (unknown ids are covered by the other suites).
"""

import uuid
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from support import onboard

from analysis.services import request_limit
from credit_manager.wsgi import application
from ledger.services import post_transaction

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def known_ids(db) -> dict[str, str]:
    account = onboard()
    posted = post_transaction(account_id=account.id, type="purchase", amount=Decimal("100.00"))
    limit_request = request_limit(account_id=account.id, requested_limit=Decimal("1000.00"))
    return {"account_id": str(account.id), "transaction_id": str(posted.id), "request_id": str(limit_request.id)}


@pytest.fixture
def in_test_transaction():
    """Keep the test's connection across requests, as Django's test client does (the WSGI handler would
    close a connection it finds inside a transaction, which is where the test's data lives)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def all_scopes(db) -> dict[str, str]:
    from common.apikeys.services import issue_api_key

    _, raw_key = issue_api_key(name=f"fuzz-{uuid.uuid4().hex[:6]}", scopes=["credit:read", "credit:write"])
    return {"Authorization": f"Bearer {raw_key}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, known_ids, all_scopes, in_test_transaction):
    for name in case.path_parameters or {}:
        if name in known_ids:
            case.path_parameters[name] = known_ids[name]
    case.call_and_validate(headers=all_scopes, checks=[not_a_server_error])
