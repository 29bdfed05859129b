import pytest
from customer_data import customer_body


@pytest.fixture
def writer(api_client):
    return api_client("users:write")


@pytest.fixture
def reader(api_client):
    return api_client("users:read")


@pytest.fixture
def create_customer(writer):
    """``create_customer(**overrides)``: register one through the API and return the response body."""

    def create(**overrides) -> dict:
        response = writer.post("/api/v1/users", customer_body(**overrides), content_type="application/json")
        assert response.status_code == 201, response.content
        return response.json()

    return create
