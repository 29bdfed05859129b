"""The user_manager API keeps its OpenAPI schema, whatever an OpenAPI-driven fuzzer sends.

Schemathesis reads the API's own schema and sends valid and invalid requests to every operation,
in-process through the WSGI app, against the real test database and Redis, and runs its full default
set of checks on each answer: no 500, only declared statuses, content types, headers and bodies,
valid data accepted (a refusal may only be one the state explains: 401, 403, 404, 409), invalid data
refused, a missing header or an unsupported method refused, authentication enforced.

The requests start from a state where a valid one can succeed: a key with every scope, a customer
that exists, its current version in ``If-Match``, and the values whose rules JSON Schema cannot
state made valid.

Three checks of the default set have nothing to judge here, and pass without looking:
``use_after_free`` (no operation deletes: a closed customer stays readable, see test_status_changes),
``ensure_resource_availability`` (it needs a sequence of requests, the stateful phase, and
schemathesis' link inference takes ``tax_id`` for a reference to a "Tax" resource that nothing
creates, so its state machine never starts from a registration; create-then-read is
test_register_customer's ``test_read_back_by_id``) and ``object_level_authorization`` (keys are
service credentials with scopes, not owners of customers: any key with ``users:read`` reads any
customer by design).
"""

import uuid

import pytest
import schemathesis
from customer_data import customer_body, fresh_cpf
from fuzz_rules import obey_the_rules_no_schema_states
from hypothesis import HealthCheck, settings

from common.testing import FuzzingKey
from user_manager.wsgi import application
from users.rules import new_customer
from users.services import register_customer

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
KEY = FuzzingKey(schema, scopes=["users:read", "users:write"])


@pytest.fixture
def api_key(db) -> None:
    """The key schemathesis sends, with every scope, so the requests reach the code behind them."""
    KEY.store()


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_each_request_keeps_the_schema(case, api_key):
    _aim_at_a_new_customer(case)
    obey_the_rules_no_schema_states(case, tax_id=fresh_cpf())
    case.call_and_validate()


def _aim_at_a_new_customer(case) -> None:
    """A well-formed customer id becomes a new customer's, so the requests reach the services (unknown
    ids are covered by the other suites); a malformed one is kept, so an invalid request stays invalid.

    An ``If-Match`` names the customer's version: any text is a valid If-Match, but only the current
    version lets a change through (stale and malformed ones are tested in test_update_customer)."""
    if _customer_id(case) is None:
        return
    customer = register_customer(new_customer(**customer_body()))
    case.path_parameters["customer_id"] = str(customer.id)
    if "If-Match" in (case.headers or {}):
        case.headers["If-Match"] = f'"{customer.version}"'


def _customer_id(case) -> uuid.UUID | None:
    try:
        return uuid.UUID(str((case.path_parameters or {}).get("customer_id")))
    except ValueError:
        return None
