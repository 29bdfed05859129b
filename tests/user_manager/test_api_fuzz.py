"""No input an OpenAPI-driven fuzzer can produce makes the user_manager API answer 500.

Schemathesis reads the API's own schema and sends valid and invalid requests to every operation,
in-process through the WSGI app, against the real test database and Redis, with a key that holds
every scope (so the requests get past authentication and reach the code that could break).
"""

import uuid

import pytest
import schemathesis
from customer_data import customer_body
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from user_manager.wsgi import application
from users.schemas import CustomerIn
from users.services import register_customer

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def all_scopes(api_client) -> dict[str, str]:
    client = api_client("users:read", "users:write")
    return {"Authorization": client.defaults["HTTP_AUTHORIZATION"]}


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, all_scopes):
    _aim_at_a_real_customer(case)
    case.call_and_validate(headers=all_scopes, checks=[not_a_server_error, response_schema_conformance])


def _aim_at_a_real_customer(case) -> None:
    """A well-formed customer id becomes a fresh, existing customer, so changes reach the database."""
    generated = (case.path_parameters or {}).get("customer_id")
    try:
        uuid.UUID(str(generated))
    except ValueError:
        return
    customer = register_customer(**CustomerIn(**customer_body()).dict())
    case.path_parameters["customer_id"] = str(customer.id)
