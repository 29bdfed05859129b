"""The OpenAPI schema names, per operation and status, every error code the operation can answer."""

import pytest
from django.test import Client

EVERY_REQUEST = {
    400: {"MALFORMED_REQUEST"},
    401: {"NOT_AUTHENTICATED"},
    403: {"INSUFFICIENT_SCOPE"},
    422: {"VALIDATION_ERROR"},
    429: {"RATE_LIMITED"},
    503: {"SERVICE_UNAVAILABLE"},
}
CHANGE = {404: {"CUSTOMER_NOT_FOUND"}, 412: {"VERSION_MISMATCH"}}


@pytest.fixture(scope="module")
def spec() -> dict:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def error_codes(spec: dict, path: str, method: str) -> dict[int, set[str]]:
    """Status → the codes its schema allows (one schema per code, ``anyOf`` when several)."""
    schemas = spec["components"]["schemas"]
    codes = {}
    for status, response in spec["paths"][f"/api/v1/users{path}"][method]["responses"].items():
        schema = response["content"]["application/json"]["schema"]
        if int(status) >= 400:
            options = schema.get("anyOf", [schema])
            codes[int(status)] = {schemas[o["$ref"].rsplit("/", 1)[1]]["properties"]["code"]["const"] for o in options}
    return codes


@pytest.mark.parametrize(
    "path, method, own",
    [
        ("", "post", {409: {"EMAIL_TAKEN", "TAX_ID_TAKEN"}}),
        ("", "get", {}),
        ("/{customer_id}", "get", {404: {"CUSTOMER_NOT_FOUND"}}),
        ("/{customer_id}", "patch", {**CHANGE, 409: {"CUSTOMER_CLOSED", "EMAIL_TAKEN"}}),
        ("/{customer_id}/block", "post", {**CHANGE, 409: {"CUSTOMER_CLOSED", "CUSTOMER_ALREADY_BLOCKED"}}),
        ("/{customer_id}/unblock", "post", {**CHANGE, 409: {"CUSTOMER_CLOSED", "CUSTOMER_NOT_BLOCKED"}}),
        ("/{customer_id}/close", "post", {**CHANGE, 409: {"CUSTOMER_CLOSED"}}),
    ],
)
def test_each_operation_declares_its_error_codes(spec, path, method, own):
    assert error_codes(spec, path, method) == {**EVERY_REQUEST, **own}
