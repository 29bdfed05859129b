"""The customers' back office (Django admin): viewers look, operators act, and every action goes through the services;
each role holds exactly its permissions."""

import importlib

import pytest
from customer_data import credit_event, decision, deliver
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client

from common.backoffice.roles import OPERATORS, SUPERVISORS, VIEWERS
from common.events.payloads import CREDIT_ANALYSIS_COMPLETED
from common.outbox.models import OutboxEvent
from users.models import Customer
from users.services import block_customer, close_customer

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/users/customer/"
ROLES = importlib.import_module("users.migrations.0003_back_office_roles")


@pytest.fixture
def roles():
    """The groups as the data migration creates them (an earlier test's flush removed them)."""
    ROLES.seed_roles(apps, None)


@pytest.fixture
def staff(django_user_model, roles):
    """``staff(OPERATORS)``: a logged-in client of a staff member in that group."""

    def login(group: str) -> Client:
        user = django_user_model.objects.create_user(username=group.split()[-1].lower(), password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def operator(staff):
    return staff(OPERATORS)


@pytest.fixture
def viewer(staff):
    return staff(VIEWERS)


def run_action(client, action, *customers, **fields):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [c["id"] for c in customers], **fields}, follow=True)


def confirm_action(client, action, *customers, reason="card reported stolen"):
    """The action as an viewer runs a destructive one: chosen, then confirmed with a reason."""
    return run_action(client, action, *customers, confirmed="yes", reason=reason)


class TestCustomerList:
    def test_shows_the_tax_id_masked(self, viewer, create_customer):
        create_customer(tax_id="529.982.247-25")
        page = viewer.get(CHANGELIST).content.decode()
        assert "***.982.247-**" in page and "52998224725" not in page

    def test_shows_the_credit_summary_columns(self, viewer, create_customer):
        customer = create_customer()
        deliver(credit_event(customer["id"], version=1, status="active", credit_limit="2500.00", balance="500.00"))
        page = viewer.get(CHANGELIST).content.decode()
        assert "2500.00" in page and "2000.00" in page and ">active<" in page

    @pytest.mark.parametrize("term", ["Pereira", "joana.p@example", "52998224725", "529.982.247-25"])
    def test_finds_a_customer_by_name_email_or_tax_id(self, viewer, create_customer, term):
        create_customer(full_name="Joana Pereira", email="joana.p@example.com", tax_id="52998224725")
        create_customer(full_name="Bruno Costa")
        page = viewer.get(CHANGELIST, {"q": term}).content.decode()
        assert "Joana Pereira" in page and "Bruno Costa" not in page

    def test_filters_by_status_and_credit_status(self, viewer, create_customer):
        blocked = create_customer(full_name="Joana Pereira")
        frozen = create_customer(full_name="Bruno Costa")
        block_customer(customer_id=blocked["id"])
        deliver(credit_event(frozen["id"], version=1, status="frozen"))
        by_status = viewer.get(CHANGELIST, {"status__exact": "blocked"}).content.decode()
        by_credit = viewer.get(CHANGELIST, {"credit_summary__status": "frozen"}).content.decode()
        assert "Joana Pereira" in by_status and "Bruno Costa" not in by_status
        assert "Bruno Costa" in by_credit and "Joana Pereira" not in by_credit


class TestCustomerDetail:
    def test_shows_the_published_and_received_events_of_the_customer(self, viewer, create_customer):
        customer = create_customer()
        other = create_customer()
        deliver(credit_event(customer["id"], version=1, status="pending"))
        page = viewer.get(f"{CHANGELIST}{customer['id']}/change/").content.decode()
        assert "user.created" in page and "waiting to be published" in page
        assert "credit.account.opened" in page and "received from credit_manager" in page
        assert other["id"] not in page

    def test_shows_the_tax_id_masked_unless_the_operator_may_see_it_whole(self, viewer, create_customer, admin_client):
        customer = create_customer(tax_id="529.982.247-25")
        url = f"{CHANGELIST}{customer['id']}/change/"
        masked = viewer.get(url).content.decode()
        assert "***.982.247-**" in masked and "52998224725" not in masked
        assert "52998224725" in admin_client.get(url).content.decode()  # users.view_full_tax_id

    def test_links_to_the_credit_account_page_in_credit_manager(self, viewer, create_customer, settings):
        settings.CREDIT_MANAGER_ADMIN_URL = "http://credit.example/admin/"
        customer = create_customer()
        deliver(credit_event(customer["id"], version=1, status="pending"))
        page = viewer.get(f"{CHANGELIST}{customer['id']}/change/").content.decode()
        account_id = Customer.objects.get(id=customer["id"]).credit_summary.account_id
        assert f'href="http://credit.example/admin/accounts/creditaccount/{account_id}/change/"' in page

    def test_a_decision_waiting_for_review_is_not_shown_as_the_one_in_force(self, viewer, create_customer):
        customer = create_customer()
        review = decision("manual_review", ("MANUAL_REVIEW_REQUIRED",), minutes=2)
        deliver(credit_event(customer["id"], event_type=CREDIT_ANALYSIS_COMPLETED, version=2, status="active",
                             credit_limit="3000.00", last_decision=review, minutes=2))  # fmt: skip
        page = viewer.get(f"{CHANGELIST}{customer['id']}/change/").content.decode()
        assert "waiting for an operator&#x27;s review; the limit above is still in force" in page

    def test_is_read_only_even_for_operators(self, operator, create_customer):
        customer = create_customer(full_name="Joana Pereira")
        url = f"{CHANGELIST}{customer['id']}/change/"
        assert 'name="_save"' not in operator.get(url).content.decode()
        assert operator.post(url, {"full_name": "Changed"}).status_code == 403
        assert Customer.objects.get(id=customer["id"]).full_name == "Joana Pereira"

    def test_nobody_adds_or_deletes_customers_here(self, operator, create_customer):
        customer = create_customer()
        assert operator.get(f"{CHANGELIST}add/").status_code == 403
        assert operator.get(f"{CHANGELIST}{customer['id']}/delete/").status_code == 403


class TestActions:
    def test_blocking_asks_for_confirmation_and_a_reason_first(self, operator, create_customer):
        customer = create_customer(full_name="Joana Pereira")
        page = run_action(operator, "block", customer).content.decode()
        assert "Block these customers?" in page and "Joana Pereira" in page and 'name="reason"' in page
        assert Customer.objects.get(id=customer["id"]).status == "active"
        again = confirm_action(operator, "block", customer, reason="  ").content.decode()
        assert "Type the reason first." in again
        assert Customer.objects.get(id=customer["id"]).status == "active"

    def test_an_operator_blocks_through_the_service_which_announces_it_with_the_reason(self, operator, create_customer):
        customer = create_customer()
        response = confirm_action(operator, "block", customer, reason="card reported stolen")
        assert "1 customer(s) blocked." in response.content.decode()
        found = Customer.objects.get(id=customer["id"])
        assert found.status == "blocked" and found.version == 2
        event = OutboxEvent.objects.get(subject=customer["id"], event_type="user.blocked")
        assert event.envelope["data"]["reason"] == "card reported stolen"

    def test_closing_asks_for_confirmation_and_a_reason_first(self, operator, create_customer):
        customer = create_customer()
        assert "Close these customers for good?" in run_action(operator, "close", customer).content.decode()
        assert Customer.objects.get(id=customer["id"]).status == "active"

    def test_an_operator_unblocks_and_closes(self, operator, create_customer):
        customer = create_customer()
        confirm_action(operator, "block", customer)
        run_action(operator, "unblock", customer)
        assert Customer.objects.get(id=customer["id"]).status == "active"
        confirm_action(operator, "close", customer, reason="asked to close the account")
        assert Customer.objects.get(id=customer["id"]).status == "closed"
        types = list(OutboxEvent.objects.filter(subject=customer["id"]).values_list("event_type", flat=True))
        assert types == ["user.created", "user.blocked", "user.unblocked", "user.closed"]

    def test_a_refused_change_is_reported_and_does_not_stop_the_others(self, operator, create_customer):
        closed, active = create_customer(full_name="Joana Pereira"), create_customer()
        close_customer(customer_id=closed["id"])
        page = confirm_action(operator, "block", closed, active).content.decode()
        assert "1 customer(s) blocked." in page and "Refused: Joana Pereira (CUSTOMER_CLOSED: " in page
        assert Customer.objects.get(id=active["id"]).status == "blocked"

    def test_a_viewer_cannot_run_them(self, viewer, create_customer):
        customer = create_customer()
        assert "Block selected customers" not in viewer.get(CHANGELIST).content.decode()
        confirm_action(viewer, "block", customer)
        assert Customer.objects.get(id=customer["id"]).status == "active"
        assert not OutboxEvent.objects.filter(event_type="user.blocked").exists()

    def test_staff_without_a_role_see_nothing(self, django_user_model):
        user = django_user_model.objects.create_user(username="nobody", password="x", is_staff=True)
        client = Client()
        client.force_login(user)
        assert client.get(CHANGELIST).status_code == 403


def test_each_role_holds_exactly_its_permissions(roles):
    def held(role: str) -> set[str]:
        return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=role).permissions.all()}

    look = {"users.view_customer", "credit_summary.view_creditsummary", "audit.view_auditentry", "messaging.view_deadletter"}
    assert held(VIEWERS) == look
    assert held(OPERATORS) == look | {"users.change_customer", "messaging.resolve_deadletter"}
    assert held(SUPERVISORS) == look | {
        "axes.view_accessattempt", "axes.delete_accessattempt", "axes.view_accesslog", "axes.view_accessfailurelog"
    }  # fmt: skip
    assert not Group.objects.filter(name__in=["Customer managers", "Customer operators (read-only)"]).exists()
