"""credit_manager's back office finds an account by its customer's name, email or CPF (formatted, digits,
or masked as the lists show it), shows who the customer is, and links to their page in user_manager,
knowing only what user_manager's events say for that purpose: the name, masked contact data and keyed
digests, never the whole CPF or email."""

import pytest
from support import CustomerHistory, customer_reference, onboard

from accounts.models import CreditAccount
from common.messaging.tasks import process_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts() -> dict[str, CreditAccount]:
    return {
        "ana": onboard(reference=customer_reference("Ana Souza Lima", tax_id="529.982.247-25", email="Ana.Souza@Example.com")),
        "bruno": onboard(reference=customer_reference("Bruno Costa", tax_id="111.444.777-35", email="bruno@example.com")),
    }


def found(admin_client, term: str) -> set[str]:
    page = admin_client.get("/admin/accounts/creditaccount/", {"q": term})
    return {account.customer_name for account in page.context["cl"].result_list}


@pytest.mark.parametrize(
    "term",
    ["529.982.247-25", "52998224725", " 529.982.247-25 ", "***.982.247-**", "ana.souza@example.com", "ANA.SOUZA@EXAMPLE.COM",
     "Souza", "ana souza"],
)  # fmt: skip
def test_an_account_is_found_by_its_customers_cpf_email_or_name(admin_client, accounts, term):
    assert found(admin_client, term) == {"Ana Souza Lima"}


def test_an_account_is_found_by_its_own_or_its_customers_id(admin_client, accounts):
    assert found(admin_client, str(accounts["bruno"].id)) == {"Bruno Costa"}
    assert found(admin_client, str(accounts["bruno"].user_id)) == {"Bruno Costa"}


def test_nothing_is_found_for_a_cpf_or_email_of_nobody(admin_client, accounts):
    assert found(admin_client, "390.533.447-05") == set()
    assert found(admin_client, "ana@example.com") == set()


def test_the_account_keeps_no_whole_cpf_or_email(accounts):
    account = CreditAccount.objects.get(id=accounts["ana"].id)
    kept = " ".join(str(getattr(account, field.attname)) for field in CreditAccount._meta.concrete_fields)
    assert "52998224725" not in kept and "Ana.Souza@Example.com".lower() not in kept.lower()
    assert (account.customer_tax_id_masked, account.customer_email_masked) == ("***.982.247-**", "A***@Example.com")


def test_lists_and_pages_show_who_the_customer_is_and_link_to_their_page(admin_client, accounts, settings):
    settings.USER_MANAGER_ADMIN_URL = "http://customers.example/admin/"
    assert "Ana Souza Lima (***.982.247-**)" in admin_client.get("/admin/accounts/creditaccount/").content.decode()
    page = admin_client.get(f"/admin/accounts/creditaccount/{accounts['ana'].id}/change/").content.decode()
    assert f'href="http://customers.example/admin/users/customer/{accounts["ana"].user_id}/change/"' in page


def test_a_renamed_customer_is_found_by_the_new_name(admin_client):
    history = CustomerHistory(reference=customer_reference("Carla Dias", tax_id="390.533.447-05", email="carla@example.com"))
    process_event.apply(args=[history.created().to_json()])
    history.reference = customer_reference("Carla Dias Prado", tax_id="390.533.447-05", email="carla@example.com")
    process_event.apply(args=[history.income_changed("8000.00").to_json()])
    assert found(admin_client, "Prado") == {"Carla Dias Prado"}
