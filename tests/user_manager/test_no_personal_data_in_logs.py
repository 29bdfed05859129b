"""Nothing personal or secret leaves user_manager through its logs or its error bodies.

Every record of every logger is captured, from DEBUG up whatever the configured levels, and rendered
by the project's formatters (tracebacks included) while the main flows and their failures run for
real: registration, reads, an update, refusals, a database that is away and one that refuses a row.
No line may hold a customer's tax id (digits or formatted), email, income, phone, name or birth
date, nor the API key of the request.
"""

import secrets
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from customer_data import fresh_cpf
from django.test import Client

from common.apikeys.services import issue_api_key
from common.outbox.tasks import relay_outbox
from common.testing import database_away, database_refuses_new_rows
from common.testing_logs import every_log_line, found_in
from users.models import Customer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _digits(count: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(count))


@dataclass(frozen=True)
class Person:
    """A customer's data of its own: values no other line of the logs could hold by chance."""

    tax_id: str = field(default_factory=fresh_cpf)
    email: str = field(default_factory=lambda: f"leak.probe.{uuid.uuid4().hex[:10]}@example.com")
    monthly_income: str = field(default_factory=lambda: f"{secrets.randbelow(90_000) + 10_000}.{secrets.randbelow(89) + 11}")
    phone: str = field(default_factory=lambda: f"+55119{_digits(8)}")
    full_name: str = field(default_factory=lambda: f"Zuleica {uuid.uuid4().hex[:8]} Vasconcelos")
    birth_date: str = "1987-03-14"

    @property
    def formatted_tax_id(self) -> str:
        digits = self.tax_id
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"

    def body(self) -> dict:
        return {
            "full_name": self.full_name, "email": self.email, "tax_id": self.formatted_tax_id,
            "birth_date": self.birth_date, "monthly_income": self.monthly_income, "phone": self.phone,
        }  # fmt: skip

    def values(self) -> dict[str, str]:
        """What must never be written, under the name a failure reports it by."""
        return {
            "tax id": self.tax_id,
            "formatted tax id": self.formatted_tax_id,
            "email": self.email,
            "email's local part": self.email.split("@")[0],
            "URL-encoded email": quote(self.email),
            "income": self.monthly_income,
            "income with a comma": self.monthly_income.replace(".", ","),
            "phone": self.phone,
            "phone without +": self.phone[1:],
            "name": self.full_name,
            "birth date": self.birth_date,
        }


@pytest.fixture
def api_key() -> str:
    _, raw_key = issue_api_key(name="leak-probe", scopes=["users:read", "users:write"])
    return raw_key


@pytest.fixture
def client(api_key) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key}"})


def register(client: Client, body: dict):
    return client.post("/api/v1/users", body, content_type="application/json")


def assert_nothing_personal(lines: list[str], *people: Person, extra: dict[str, str] | None = None) -> None:
    values = {**(extra or {})}
    for index, person in enumerate(people):
        values |= {f"{what} of customer {index}": value for what, value in person.values().items()}
    leaks = found_in(lines, values)
    assert not leaks, "personal data or a secret in the logs:\n" + "\n".join(leaks)


def assert_body_holds_none_of(response, *values: str) -> None:
    body = response.content.decode().lower()
    echoed = [value for value in values if value and value.lower() in body]
    assert not echoed, f"the {response.status_code} body echoes {echoed}: {body}"


class TestTheCaptureItself:
    def test_it_sees_info_lines_whatever_the_configured_level(self, client):
        with every_log_line() as lines:
            assert register(client, Person().body()).status_code == 201
        assert any("customer event recorded" in line for line in lines), lines


class TestMainFlows:
    def test_registering_reading_and_relaying_a_customer(self, client, api_key):
        person = Person()
        with every_log_line() as lines:
            created = register(client, person.body())
            assert created.status_code == 201, created.content
            customer_id = created.json()["id"]
            assert client.get(f"/api/v1/users/{customer_id}").status_code == 200
            found = client.get("/api/v1/users", {"search": person.email})
            assert [c["id"] for c in found.json()["items"]] == [customer_id]
            assert relay_outbox.apply().get() == {"sent": 1, "failed": 0}
        assert_nothing_personal(lines, person, extra={"API key": api_key})

    def test_changing_email_income_phone_and_name(self, client, api_key):
        before, after = Person(), Person()
        customer_id = register(client, before.body()).json()["id"]
        changes = {"email": after.email, "monthly_income": after.monthly_income, "phone": after.phone, "full_name": after.full_name}
        with every_log_line() as lines:
            changed = client.patch(f"/api/v1/users/{customer_id}", changes, content_type="application/json")
            assert changed.status_code == 200, changed.content
            assert relay_outbox.apply().get() == {"sent": 2, "failed": 0}  # user.created, user.updated
        assert_nothing_personal(lines, before, after, extra={"API key": api_key})


class TestRefusals:
    def test_a_taken_email_or_tax_id_is_409_and_neither_is_written(self, client, api_key):
        taken, other = Person(), Person()
        register(client, taken.body())
        with every_log_line() as lines:
            email_taken = register(client, {**other.body(), "email": taken.email.upper()})
            tax_id_taken = register(client, {**other.body(), "tax_id": taken.tax_id})
        assert (email_taken.status_code, email_taken.json()["code"]) == (409, "EMAIL_TAKEN")
        assert (tax_id_taken.status_code, tax_id_taken.json()["code"]) == (409, "TAX_ID_TAKEN")
        for response in (email_taken, tax_id_taken):
            assert_body_holds_none_of(response, *taken.values().values(), *other.values().values())
        assert_nothing_personal(lines, taken, other, extra={"API key": api_key})

    @pytest.mark.parametrize(
        ("name", "invalid"),
        [
            ("tax_id", "529.982.247-26"),
            ("tax_id", "52998224726"),
            ("tax_id", "5299822472x"),
            ("email", "leak.probe.7f3a9c@@example.com"),
            ("email", "leak probe 7f3a9c@example.com"),
            ("email", "leak.probe.7f3a9c@leak-probe-7f3a9c.test"),
            ("email", "leak.probe.7f3a9c"),
            ("phone", "+55 11 9 8765-4321"),
            ("monthly_income", "-73915.37"),
            ("birth_date", "2987-03-14"),
        ],
    )
    def test_a_422_names_the_field_without_echoing_the_value(self, client, api_key, name, invalid):
        person = Person()
        with every_log_line() as lines:
            response = register(client, {**person.body(), name: invalid})
        assert response.status_code == 422 and [e["field"] for e in response.json()["errors"]] == [name]
        parts = [part for part in invalid.replace("@", " ").split() if len(part) > 4] if name == "email" else []
        assert_body_holds_none_of(response, invalid, *parts, *person.values().values())
        assert_nothing_personal(lines, person, extra={"API key": api_key, "invalid value": invalid})

    def test_a_422_on_a_search_for_an_email_writes_no_email(self, client, api_key):
        person = Person()
        with every_log_line() as lines:
            response = client.get("/api/v1/users", {"search": person.email, "page_size": 1000})
        assert response.status_code == 422
        assert_body_holds_none_of(response, person.email)
        assert_nothing_personal(lines, person, extra={"API key": api_key})

    def test_an_unreadable_body_is_400_without_echoing_it(self, client, api_key):
        person = Person()
        unreadable = '{"email": "' + person.email + '", "tax_id": "' + person.tax_id + '",'
        with every_log_line() as lines:
            response = client.post("/api/v1/users", unreadable, content_type="application/json")
        assert response.status_code == 400 and response.json()["code"] == "MALFORMED_REQUEST"
        assert_body_holds_none_of(response, *person.values().values())
        assert_nothing_personal(lines, person, extra={"API key": api_key})


class TestApiKeys:
    @pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
    def test_an_unknown_key_is_401_and_neither_answered_nor_written(self, header):
        unknown = f"us_{uuid.uuid4().hex}{uuid.uuid4().hex}"
        value = f"Bearer {unknown}" if header == "Authorization" else unknown
        with every_log_line() as lines:
            response = Client(headers={header: value}).post("/api/v1/users", Person().body(), content_type="application/json")
        assert response.status_code == 401
        assert_body_holds_none_of(response, unknown, unknown[:10])
        assert_nothing_personal(lines, extra={"API key": unknown})

    @pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
    def test_a_key_without_the_scope_is_403_and_neither_answered_nor_written(self, header):
        _, read_only = issue_api_key(name="read-only", scopes=["users:read"])
        value = f"Bearer {read_only}" if header == "Authorization" else read_only
        with every_log_line() as lines:
            response = Client(headers={header: value}).post("/api/v1/users", Person().body(), content_type="application/json")
        assert response.status_code == 403 and response.json()["code"] == "INSUFFICIENT_SCOPE"
        assert_body_holds_none_of(response, read_only)
        assert_nothing_personal(lines, extra={"API key": read_only})


class TestFailures:
    def test_a_database_away_is_503_and_writes_nothing_personal(self, client, api_key):
        person = Person()
        client.get("/api/v1/users")  # the key is now known to this process: the request reaches the service
        with every_log_line() as lines, database_away():
            response = register(client, person.body())
        assert response.status_code == 503
        assert_body_holds_none_of(response, *person.values().values())
        assert_nothing_personal(lines, person, extra={"API key": api_key})

    def test_an_unexpected_database_error_is_500_and_writes_nothing_personal(self, client, api_key):
        person = Person()
        with every_log_line() as lines, database_refuses_new_rows(Customer):
            response = register(client, person.body())
        assert (response.status_code, response.json()["code"]) == (500, "INTERNAL_ERROR")
        assert any("IntegrityError" in line for line in lines), "the failure was not the database's refusal"
        assert_body_holds_none_of(response, *person.values().values())
        assert_nothing_personal(lines, person, extra={"API key": api_key})
