"""The customer rules hold for every caller of the services, not only for the API: the back office
and a shell get the same refusals, in the shape the API answers, and the same normal form. A
registration is checked once, when it is made (``users.rules.new_customer``, or the API's body)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from customer_data import customer_body

from common.errors import DomainError, ErrorCode
from common.outbox.models import OutboxEvent
from users.models import Customer
from users.rules import new_customer
from users.services import block_customer, register_customer, update_customer

pytestmark = pytest.mark.django_db(transaction=True)


def refusal(call, **values) -> list[dict]:
    with pytest.raises(DomainError) as refused:
        call(**values)
    assert refused.value.code == ErrorCode.VALIDATION_ERROR
    return refused.value.errors


class TestRegisterCustomer:
    def test_stores_the_values_in_their_normal_form(self):
        customer = register_customer(new_customer(**customer_body(full_name="  Ana Maria Silva ", tax_id="529.982.247-25")))
        stored = Customer.objects.get(id=customer.id)
        assert (stored.full_name, stored.tax_id) == ("Ana Maria Silva", "52998224725")

    def test_an_invalid_cpf_is_refused_as_the_api_refuses_it(self):
        errors = refusal(new_customer, **customer_body(tax_id="529.982.247-26"))
        assert errors == [{"field": "tax_id", "message": "Value error, not a valid CPF", "type": "value_error"}]
        assert not Customer.objects.exists() and not OutboxEvent.objects.exists()

    def test_every_invalid_field_is_named(self):
        tomorrow = date.today() + timedelta(days=1)
        body = customer_body(full_name="A", tax_id="123", birth_date=tomorrow, monthly_income=Decimal("-1"), phone="0800")
        assert sorted(e["field"] for e in refusal(new_customer, **body)) == [
            "birth_date", "full_name", "monthly_income", "phone", "tax_id"
        ]  # fmt: skip


class TestUpdateCustomer:
    def test_a_phone_that_is_not_e164_is_refused(self, create_customer):
        customer = create_customer()
        errors = refusal(update_customer, customer_id=customer["id"], phone="11 98765-4321")
        assert [e["field"] for e in errors] == ["phone"]
        assert Customer.objects.get(id=customer["id"]).version == 1


class TestStatusChange:
    def test_a_reason_with_control_characters_is_refused(self, create_customer):
        customer = create_customer()
        errors = refusal(block_customer, customer_id=customer["id"], reason="fraud\x00")
        assert [e["field"] for e in errors] == ["reason"]
        assert Customer.objects.get(id=customer["id"]).status == "active"
