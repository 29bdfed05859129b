"""schemathesis against the credit_manager API (in-process WSGI, real Postgres and Redis) with its full
default set of checks: no server error, every status, content type, header and body as the OpenAPI
schema declares them, invalid requests refused and valid ones accepted (a refusal of a valid request
may only be one the state explains: 401, 403, 404 or 409).

A well-formed path id is replaced by an id that exists, so the generated requests reach the services
instead of stopping at a 404 (unknown ids are covered by the other suites); a malformed one is kept,
so the invalid requests stay invalid. The account of the limit-request fixture is another account,
so a valid limit request on the fuzzed account can be accepted; the authorization holds most of the
fuzzed account's credit, so increments, captures and reversals reach their rules.
"""

import uuid
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from support import onboard

from analysis.services import request_limit
from authorizations.services import Merchant, authorize
from common.testing import FuzzingKey
from credit_manager.wsgi import application
from ledger.services import post_transaction

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
KEY = FuzzingKey(schema, scopes=["credit:read", "credit:write"])


@pytest.fixture
def known_ids(db) -> dict[str, str]:
    account = onboard()
    posted = post_transaction(account_id=account.id, type="purchase", amount=Decimal("100.00"))
    limit_request = request_limit(account_id=onboard().id, requested_limit=Decimal("1000.00"))
    authorization, _ = authorize(
        account_id=account.id, amount=Decimal("9000.00"), merchant=Merchant(name="Fuzz Bar", mcc="5813"), network_reference="fuzz"
    )
    return {
        "account_id": str(account.id), "transaction_id": str(posted.id), "request_id": str(limit_request.id),
        "authorization_id": str(authorization.id),
    }  # fmt: skip


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
def api_key(db) -> None:
    """The key schemathesis sends, with every scope, so the requests reach the code behind them."""
    KEY.store()


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case, known_ids, api_key, in_test_transaction):
    for name, value in (case.path_parameters or {}).items():
        if name in known_ids and _is_uuid(value):
            case.path_parameters[name] = known_ids[name]
    case.call_and_validate()


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
