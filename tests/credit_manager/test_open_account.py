"""user.created opens exactly one pending credit account and announces credit.account.opened."""

import uuid
from decimal import Decimal

import pytest

from accounts.models import CreditAccount
from common.events import new_event
from common.events.payloads import USER_CREATED, UserCreated
from common.messaging.tasks import process_event
from common.outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def user_created(user_id: uuid.UUID):
    data = UserCreated(user_id=user_id, birth_date="1985-03-02", monthly_income=Decimal("4200.00"), status="active")
    return new_event(USER_CREATED, subject=user_id, data=data)


class TestOpenAccountOnUserCreated:
    def test_opens_a_pending_account_and_announces_it(self):
        user_id = uuid.uuid4()
        assert process_event.apply(args=[user_created(user_id).to_json()]).get() == "handled"
        account = CreditAccount.objects.get(user_id=user_id)
        assert account.status == "pending" and account.credit_limit == Decimal("0.00")
        opened = OutboxEvent.objects.get(event_type="credit.account.opened")
        assert opened.key == str(user_id) and opened.envelope["data"]["account_id"] == str(account.id)

    def test_a_redelivered_event_opens_no_second_account(self):
        event = user_created(uuid.uuid4())
        process_event.apply(args=[event.to_json()])
        assert process_event.apply(args=[event.to_json()]).get() == "duplicate"
        assert CreditAccount.objects.count() == 1 and OutboxEvent.objects.count() == 1

    def test_a_second_event_for_the_same_customer_opens_no_second_account(self):
        """Another event id (e.g. a replay from user_manager) is absorbed by the unique customer key."""
        user_id = uuid.uuid4()
        process_event.apply(args=[user_created(user_id).to_json()])
        assert process_event.apply(args=[user_created(user_id).to_json()]).get() == "handled"
        assert CreditAccount.objects.count() == 1 and OutboxEvent.objects.count() == 1


class TestAccountsApi:
    def test_lists_the_account_of_a_customer(self, api_client):
        user_id = uuid.uuid4()
        process_event.apply(args=[user_created(user_id).to_json()])
        response = api_client("credit:read").get(f"/api/v1/accounts?user_id={user_id}")
        assert response.status_code == 200
        [account] = response.json()["items"]
        assert account["user_id"] == str(user_id) and account["available"] == "0.00" and account["status"] == "pending"

    def test_unknown_account_is_404(self, api_client):
        response = api_client("credit:read").get(f"/api/v1/accounts/{uuid.uuid4()}")
        assert response.status_code == 404 and response.json()["code"] == "account_not_found"
