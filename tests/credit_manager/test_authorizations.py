"""Card authorizations: a hold reserves credit (available = limit − balance − held), then is captured
(posted to the ledger, in parts or at once, within the merchant category's tolerance or forced),
reversed, or expires; declines are recorded with their reason, network retries never hold twice, and
every step is in the authorization's history and announced with the account's state."""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from support import change_authorization, events_of, onboard, post, purchase, request_authorization, spend

from accounts.models import CreditAccount
from accounts.services import close_account, freeze_account
from authorizations import selectors, services
from authorizations.models import Authorization, HoldRule
from authorizations.schemas import AuthorizationDetailOut
from authorizations.services import expire_due_holds
from common.testing import wait_until
from credit_manager.celery import app
from ledger.models import LedgerTransaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client):
    return api_client("credit:read", "credit:write")


def account_now(account: CreditAccount) -> CreditAccount:
    return CreditAccount.objects.get(id=account.id)


def figures(account: CreditAccount) -> tuple[str, str, str]:
    """(balance, held, available) as GET /accounts/{id} would show them."""
    account = account_now(account)
    return f"{account.balance:.2f}", f"{account.held_in_force:.2f}", f"{account.available:.2f}"


def approved(client, account, amount: str, **kwargs) -> dict:
    response = request_authorization(client, account, amount, **kwargs)
    assert response.status_code == 201, response.json()
    assert response.json()["decision"] == {"outcome": "approved", "reason_code": None}
    return response.json()


class TestRequest:
    def test_an_approved_authorization_holds_the_amount_and_owes_nothing_yet(self, client, active_account):
        response = request_authorization(client, active_account, "250.00", reference="net-1")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body | {"id": None, "expires_at": None, "created_at": None, "updated_at": None, "history": None} == {
            "id": None,
            "account_id": str(active_account.id),
            "network_reference": "net-1",
            "status": "pending",
            "amount": "250.00",
            "held_amount": "250.00",
            "captured_amount": "0.00",
            "released_amount": "0.00",
            "merchant": {"name": "Mercado Azul", "mcc": "5411", "country": "BR"},
            "decision": {"outcome": "approved", "reason_code": None},
            "over_limit": False,
            "account": {"balance": "0.00", "held": "250.00", "available": "15750.00"},
            "expires_at": None,
            "created_at": None,
            "updated_at": None,
            "history": None,
        }
        assert [(step["kind"], step["amount"], step["outcome"]) for step in body["history"]] == [
            ("request", "250.00", "approved")
        ]
        assert figures(active_account) == ("0.00", "250.00", "15750.00")
        assert not LedgerTransaction.objects.filter(account=active_account).exists()

    def test_the_account_shows_what_is_held(self, client, active_account):
        approved(client, active_account, "250.00")
        body = client.get(f"/api/v1/accounts/{active_account.id}").json()
        assert (body["balance"], body["held"], body["available"], body["over_limit"]) == ("0.00", "250.00", "15750.00", False)

    def test_the_hold_lasts_as_long_as_the_merchant_categorys_rule_says(self, client, active_account):
        before = timezone.now()
        grocery = approved(client, active_account, "10.00", mcc="5411")
        hotel = approved(client, active_account, "10.00", mcc="7011")
        assert timedelta(days=7) <= _expires(grocery) - before < timedelta(days=7, minutes=1)
        assert timedelta(days=30) <= _expires(hotel) - before < timedelta(days=30, minutes=1)

    @pytest.mark.parametrize(
        ("setup", "amount", "reason"),
        [
            (lambda account: spend(account, "15900.00"), "100.01", "INSUFFICIENT_CREDIT"),
            (lambda account: freeze_account(user_id=account.user_id), "10.00", "ACCOUNT_NOT_ACTIVE"),
            (lambda account: None, "0.00", "AMOUNT_NOT_POSITIVE"),
        ],
    )
    def test_a_declined_authorization_is_recorded_with_its_reason_and_holds_nothing(
        self, client, active_account, setup, amount, reason
    ):
        setup(active_account)
        before = figures(active_account)
        response = request_authorization(client, active_account, amount)
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["status"], body["decision"], body["held_amount"]) == (
            "declined", {"outcome": "declined", "reason_code": reason}, "0.00"
        )  # fmt: skip
        assert figures(active_account) == before
        found = client.get(f"/api/v1/accounts/{active_account.id}/authorizations?status=declined").json()
        assert [(a["id"], a["decision"]["reason_code"]) for a in found["items"]] == [(body["id"], reason)]
        [declined] = events_of(active_account, "credit.authorization.declined")
        assert declined["data"]["reason_code"] == reason and declined["data"]["authorization_status"] == "declined"

    def test_a_network_retry_with_the_same_reference_returns_the_same_authorization_and_holds_once(self, client, active_account):
        first = request_authorization(client, active_account, "300.00", reference="net-retry")
        again = request_authorization(client, active_account, "300.00", reference="net-retry")  # a new Idempotency-Key
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        assert figures(active_account) == ("0.00", "300.00", "15700.00")
        assert len(events_of(active_account, "credit.authorization.approved")) == 1

    def test_the_same_reference_for_another_amount_is_refused(self, client, active_account):
        request_authorization(client, active_account, "300.00", reference="net-x")
        response = request_authorization(client, active_account, "301.00", reference="net-x")
        assert (response.status_code, response.json()["code"]) == (409, "NETWORK_REFERENCE_REUSED")
        assert figures(active_account) == ("0.00", "300.00", "15700.00")

    def test_the_same_reference_on_another_account_is_another_authorization(self, client, active_account):
        other = onboard()
        approved(client, active_account, "10.00", reference="net-shared")
        approved(client, other, "10.00", reference="net-shared")
        assert Authorization.objects.filter(network_reference="net-shared").count() == 2

    def test_holds_count_against_a_direct_purchase(self, client, active_account):
        approved(client, active_account, "15000.00")
        response = post(client, active_account, purchase("1000.01"))
        assert (response.status_code, response.json()["code"]) == (409, "INSUFFICIENT_CREDIT")
        assert post(client, active_account, purchase("1000.00")).json()["available_after"] == "0.00"

    @pytest.mark.parametrize(
        "body",
        [
            {"amount": "-1.00", "merchant": {"name": "X", "mcc": "5411"}, "network_reference": "r"},
            {"amount": "1.00", "merchant": {"name": "X", "mcc": "541"}, "network_reference": "r"},
            {"amount": "1.00", "merchant": {"name": "X", "mcc": "5411", "country": "bra"}, "network_reference": "r"},
            {"amount": "1.00", "merchant": {"name": " ", "mcc": "5411"}, "network_reference": "r"},
            {"amount": "1.00", "merchant": {"name": "X", "mcc": "5411"}, "network_reference": ""},
            {"amount": 1.0, "merchant": {"name": "X", "mcc": "5411"}, "network_reference": "r"},
        ],
    )
    def test_a_malformed_request_is_refused_and_changes_nothing(self, client, active_account, body):
        response = client.post(
            f"/api/v1/accounts/{active_account.id}/authorizations", body, content_type="application/json",
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )  # fmt: skip
        assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_ERROR")
        assert not Authorization.objects.exists()

    def test_changing_needs_the_write_scope(self, api_client, active_account):
        response = request_authorization(api_client("credit:read"), active_account, "10.00")
        assert (response.status_code, response.json()["code"]) == (403, "INSUFFICIENT_SCOPE")

    def test_an_unknown_account_or_authorization_is_404(self, client):
        missing = CreditAccount(id=uuid.uuid4())
        assert request_authorization(client, missing, "1.00").json()["code"] == "ACCOUNT_NOT_FOUND"
        assert client.get(f"/api/v1/authorizations/{uuid.uuid4()}").json()["code"] == "AUTHORIZATION_NOT_FOUND"
        response = change_authorization(client, uuid.uuid4(), "captures", {"amount": "1.00"})
        assert (response.status_code, response.json()["code"]) == (404, "AUTHORIZATION_NOT_FOUND")


class TestIncrement:
    def test_an_approved_increment_raises_the_hold(self, client, active_account):
        authorization = approved(client, active_account, "200.00", mcc="7011")
        response = change_authorization(client, authorization["id"], "increments", {"amount": "50.00"})
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["amount"], body["held_amount"], body["status"]) == ("250.00", "250.00", "pending")
        assert [(s["kind"], s["amount"], s["outcome"]) for s in body["history"]][-1] == ("increment", "50.00", "approved")
        assert figures(active_account) == ("0.00", "250.00", "15750.00")
        assert events_of(active_account, "credit.authorization.incremented")[0]["data"]["held"] == "250.00"

    def test_an_increment_beyond_the_available_credit_is_declined_and_recorded_and_the_hold_stays(self, client, active_account):
        authorization = approved(client, active_account, "15000.00")
        response = change_authorization(client, authorization["id"], "increments", {"amount": "1000.01"})
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["status"], body["held_amount"]) == ("pending", "15000.00")
        assert body["history"][-1] | {"created_at": None, "account": None} == {
            "kind": "increment", "amount": "1000.01", "outcome": "declined", "reason_code": "INSUFFICIENT_CREDIT",
            "final": False, "forced": False, "over_limit": False, "transaction_id": None, "account": None, "created_at": None,
        }  # fmt: skip
        [declined] = events_of(active_account, "credit.authorization.declined")
        assert (declined["data"]["authorization_status"], declined["data"]["reason_code"]) == ("pending", "INSUFFICIENT_CREDIT")


class TestCapture:
    def test_a_final_capture_posts_the_purchase_and_releases_the_rest(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        response = change_authorization(client, authorization["id"], "captures", {"amount": "80.00"})
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["status"], body["held_amount"], body["captured_amount"], body["released_amount"]) == (
            "closed", "0.00", "80.00", "20.00"
        )  # fmt: skip
        assert figures(active_account) == ("80.00", "0.00", "15920.00")
        posted = LedgerTransaction.objects.get(id=body["history"][-1]["transaction_id"])
        assert (posted.type, posted.amount, posted.external_reference) == (
            "purchase",
            Decimal("80.00"),
            authorization["network_reference"],
        )
        assert posted.description == "Mercado Azul"
        captured = events_of(active_account, "credit.authorization.captured")[0]["data"]
        assert (captured["transaction_id"], captured["balance"], captured["held"]) == (str(posted.id), "80.00", "0.00")

    def test_several_partial_captures_use_the_hold_until_it_is_gone(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        for amount in ("30.00", "50.00"):
            response = change_authorization(client, authorization["id"], "captures", {"amount": amount, "final": False})
            assert response.json()["status"] == "pending"
        assert figures(active_account) == ("80.00", "20.00", "15900.00")
        last = change_authorization(client, authorization["id"], "captures", {"amount": "20.00", "final": False}).json()
        assert (last["status"], last["held_amount"], last["captured_amount"], last["released_amount"]) == (
            "closed", "0.00", "100.00", "0.00"
        )  # fmt: skip
        assert LedgerTransaction.objects.filter(account=active_account, type="purchase").count() == 3
        refused = change_authorization(client, authorization["id"], "captures", {"amount": "1.00"})
        assert (refused.status_code, refused.json()["code"]) == (409, "AUTHORIZATION_FINAL")

    def test_a_capture_above_the_hold_is_accepted_within_the_categorys_tolerance(self, client, active_account):
        authorization = approved(client, active_account, "100.00", mcc="5812")  # restaurants: 20%
        response = change_authorization(client, authorization["id"], "captures", {"amount": "120.00"})
        assert response.status_code == 201, response.json()
        assert (response.json()["captured_amount"], response.json()["status"]) == ("120.00", "closed")
        assert figures(active_account) == ("120.00", "0.00", "15880.00")

    def test_a_capture_beyond_the_tolerance_is_refused_and_changes_nothing(self, client, active_account):
        authorization = approved(client, active_account, "100.00", mcc="5812")
        response = change_authorization(client, authorization["id"], "captures", {"amount": "120.01"})
        assert (response.status_code, response.json()["code"]) == (409, "CAPTURE_EXCEEDS_AUTHORIZATION")
        assert "120.00" in response.json()["detail"]
        grocery = approved(client, active_account, "100.00", mcc="5411")  # no tolerance
        response = change_authorization(client, grocery["id"], "captures", {"amount": "100.01"})
        assert response.json()["code"] == "CAPTURE_EXCEEDS_AUTHORIZATION"
        assert figures(active_account) == ("0.00", "200.00", "15800.00")

    def test_a_forced_capture_is_posted_past_the_limit_and_flags_the_account(self, client, active_account):
        spend(active_account, "15900.00")
        authorization = approved(client, active_account, "100.00")
        response = change_authorization(client, authorization["id"], "captures", {"amount": "400.00", "force": True})
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["over_limit"], body["history"][-1]["forced"], body["history"][-1]["over_limit"]) == (True, True, True)
        assert figures(active_account) == ("16300.00", "0.00", "0.00")
        account = client.get(f"/api/v1/accounts/{active_account.id}").json()
        assert (account["over_limit"], account["available"]) == (True, "0.00")
        assert events_of(active_account, "credit.authorization.captured")[0]["data"]["over_limit"] is True

    def test_a_blocked_customers_pending_authorization_is_still_captured(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        freeze_account(user_id=active_account.user_id)
        assert change_authorization(client, authorization["id"], "captures", {"amount": "100.00"}).status_code == 201
        assert figures(active_account) == ("100.00", "0.00", "15900.00")


class TestReversal:
    def test_a_partial_reversal_releases_part_and_a_full_one_the_rest(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        partial = change_authorization(client, authorization["id"], "reversals", {"amount": "30.00"}).json()
        assert (partial["status"], partial["amount"], partial["held_amount"], partial["released_amount"]) == (
            "pending", "70.00", "70.00", "30.00"
        )  # fmt: skip
        full = change_authorization(client, authorization["id"], "reversals").json()
        assert (full["status"], full["amount"], full["held_amount"], full["released_amount"]) == (
            "reversed",
            "0.00",
            "0.00",
            "100.00",
        )
        assert figures(active_account) == ("0.00", "0.00", "16000.00")
        assert [e["data"]["amount"] for e in events_of(active_account, "credit.authorization.reversed")] == ["30.00", "70.00"]

    def test_the_rest_of_a_partly_captured_authorization_reversed_closes_it(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        change_authorization(client, authorization["id"], "captures", {"amount": "40.00", "final": False})
        assert change_authorization(client, authorization["id"], "reversals").json()["status"] == "closed"

    def test_a_partial_reversal_lowers_what_may_be_captured(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        change_authorization(client, authorization["id"], "reversals", {"amount": "60.00"})
        response = change_authorization(client, authorization["id"], "captures", {"amount": "40.01"})
        assert response.json()["code"] == "CAPTURE_EXCEEDS_AUTHORIZATION"
        assert change_authorization(client, authorization["id"], "captures", {"amount": "40.00"}).json()["status"] == "closed"

    def test_more_than_is_held_cannot_be_reversed(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        response = change_authorization(client, authorization["id"], "reversals", {"amount": "100.01"})
        assert (response.status_code, response.json()["code"]) == (409, "REVERSAL_EXCEEDS_HOLD")

    @pytest.mark.parametrize("step", ["increments", "captures", "reversals"])
    def test_a_final_authorization_never_changes(self, client, active_account, step):
        authorization = approved(client, active_account, "100.00")
        change_authorization(client, authorization["id"], "reversals")
        response = change_authorization(client, authorization["id"], step, {"amount": "1.00"})
        assert (response.status_code, response.json()["code"]) == (409, "AUTHORIZATION_FINAL")
        assert "reversed" in response.json()["detail"]

    def test_a_declined_authorization_never_changes(self, client, active_account):
        declined = request_authorization(client, active_account, "0.00").json()
        response = change_authorization(client, declined["id"], "captures", {"amount": "1.00"})
        assert (response.status_code, response.json()["code"]) == (409, "AUTHORIZATION_FINAL")

    def test_a_closing_account_closes_when_its_last_hold_is_released(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        close_account(user_id=active_account.user_id)
        assert account_now(active_account).status == "closing"
        change_authorization(client, authorization["id"], "reversals")
        assert account_now(active_account).status == "closed"
        assert events_of(active_account)[-2]["type"] == "credit.account.closed"

    def test_a_closing_account_owes_what_its_last_hold_captures(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        close_account(user_id=active_account.user_id)
        assert change_authorization(client, authorization["id"], "captures", {"amount": "100.00"}).status_code == 201
        account = account_now(active_account)
        assert (account.status, account.balance, account.held) == ("closing", Decimal("100.00"), 0)


class TestExpiry:
    def test_a_hold_stops_counting_the_moment_it_expires_before_any_sweep(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        expires_at = _expires(authorization)
        with time_machine.travel(expires_at - timedelta(microseconds=1), tick=False):
            assert figures(active_account) == ("0.00", "100.00", "15900.00")
            assert client.get(f"/api/v1/accounts/{active_account.id}").json()["available"] == "15900.00"  # cached now
            assert expire_due_holds() == 0
        with time_machine.travel(expires_at, tick=False):
            assert figures(active_account) == ("0.00", "0.00", "16000.00")
            assert client.get(f"/api/v1/accounts/{active_account.id}").json()["available"] == "16000.00", "served stale"
            assert Authorization.objects.get(id=authorization["id"]).status == "pending"  # not swept yet
            assert expire_due_holds() == 1
            assert expire_due_holds() == 0
        expired = client.get(f"/api/v1/authorizations/{authorization['id']}").json()
        assert (expired["status"], expired["held_amount"], expired["released_amount"]) == ("expired", "0.00", "100.00")
        assert [s["kind"] for s in expired["history"]] == ["request", "expiry"]
        assert account_now(active_account).held == 0
        [event] = events_of(active_account, "credit.authorization.expired")
        assert (event["data"]["amount"], event["data"]["held"]) == ("100.00", "0.00")

    def test_the_periodic_sweep_is_scheduled_and_expires_every_due_hold_a_batch_at_a_time(
        self, client, active_account, monkeypatch
    ):
        monkeypatch.setattr(services, "EXPIRY_BATCH", 2)
        app.loader.import_default_modules()
        sweep = app.tasks[settings.CELERY_BEAT_SCHEDULE["authorization-expiry-sweep"]["task"]]
        holds = [approved(client, active_account, "10.00") for _ in range(3)]
        with time_machine.travel(max(_expires(h) for h in holds), tick=False):
            assert sweep.apply().get() == 3
        assert set(Authorization.objects.values_list("status", flat=True)) == {"expired"}

    def test_credit_freed_by_an_expired_hold_can_be_authorized_again(self, client, active_account):
        authorization = approved(client, active_account, "16000.00")
        assert request_authorization(client, active_account, "1.00").json()["decision"]["reason_code"] == "INSUFFICIENT_CREDIT"
        with time_machine.travel(_expires(authorization), tick=False):
            approved(client, active_account, "16000.00")

    def test_a_capture_after_expiry_is_accepted_and_may_take_the_account_over_its_limit(self, client, active_account):
        first = approved(client, active_account, "16000.00")
        with time_machine.travel(_expires(first) + timedelta(days=1), tick=False):
            approved(client, active_account, "16000.00")  # the freed credit is taken again
            response = change_authorization(client, first["id"], "captures", {"amount": "16000.00"})
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["status"], body["captured_amount"], body["over_limit"]) == ("expired", "16000.00", True)
        assert [s["kind"] for s in body["history"]] == ["request", "expiry", "capture"]
        assert account_now(active_account).over_limit

    def test_an_expired_authorization_cannot_be_reversed_or_incremented(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        with time_machine.travel(_expires(authorization), tick=False):
            for step in ("reversals", "increments"):
                response = change_authorization(client, authorization["id"], step, {"amount": "1.00"})
                assert (response.status_code, response.json()["code"]) == (409, "AUTHORIZATION_FINAL")
        # A refusal changes nothing: the expiry it found is the sweep's to record.
        assert Authorization.objects.get(id=authorization["id"]).status == "pending"

    def test_the_expiry_rule_is_the_version_in_force_at_the_request(self, client, active_account):
        HoldRule.objects.create(mcc="5411", version=1, expiry_days=2)
        short = approved(client, active_account, "10.00", mcc="5411")
        assert _expires(short) - timezone.now() < timedelta(days=2)

    def test_a_rule_published_here_is_in_force_at_once(self, client, active_account, admin_user):
        approved(client, active_account, "10.00", mcc="5411")  # this process now keeps the rules in force
        services.publish_hold_rule(source=HoldRule(mcc="5411", expiry_days=2), created_by=admin_user)
        short = approved(client, active_account, "10.00", mcc="5411")
        assert _expires(short) - timezone.now() < timedelta(days=2)

    def test_a_rule_published_by_another_process_is_in_force_here_within_a_second(self, client, active_account):
        approved(client, active_account, "10.00", mcc="5411")  # this process now keeps the rules in force
        HoldRule.objects.create(mcc="5411", version=1, expiry_days=2)  # as another process publishes it
        wait_until(
            lambda: _expires(approved(client, active_account, "10.00", mcc="5411")) - timezone.now() < timedelta(days=2),
            timeout=selectors.HOLD_RULE_MEMORY_SECONDS + 1,
            interval=0.1,
            what="the new rule in force",
        )


class TestAnswer:
    """Every POST answers from what the service has in hand (issue 11): the same bytes as the authorization
    and its history read back after the change, in fewer statements."""

    def test_every_change_answers_what_reading_it_back_would(self, client, active_account):
        def answered(response, status: int = 201) -> dict:
            assert response.status_code == status, response.json()
            assert response.content == _read_back(response.json()["id"])  # read right after, before any other change
            return response.json()

        first = answered(request_authorization(client, active_account, "300.00", mcc="5812", reference="net-answer"))
        answered(request_authorization(client, active_account, "300.00", mcc="5812", reference="net-answer"), 200)  # retry
        answered(request_authorization(client, active_account, "99999.00"))  # declined
        answered(change_authorization(client, first["id"], "increments", {"amount": "20.00"}))
        answered(change_authorization(client, first["id"], "increments", {"amount": "99999.00"}))  # declined
        answered(change_authorization(client, first["id"], "captures", {"amount": "100.00", "final": False}))
        answered(change_authorization(client, first["id"], "reversals", {"amount": "20.00"}))
        forced = answered(change_authorization(client, first["id"], "captures", {"amount": "999.00", "force": True}))
        assert len(forced["history"]) == 6
        answered(change_authorization(client, approved(client, active_account, "40.00")["id"], "reversals"))
        late = approved(client, active_account, "50.00")
        with time_machine.travel(_expires(late) + timedelta(days=1), tick=False):
            body = answered(change_authorization(client, late["id"], "captures", {"amount": "50.00"}))
        assert [entry["kind"] for entry in body["history"]] == ["request", "expiry", "capture"]

    def test_a_repeated_key_answers_the_first_answer(self, client, active_account):
        authorization = approved(client, active_account, "100.00")
        first = change_authorization(client, authorization["id"], "captures", {"amount": "10.00", "final": False}, key="k-1")
        change_authorization(client, authorization["id"], "captures", {"amount": "10.00", "final": False})
        again = change_authorization(client, authorization["id"], "captures", {"amount": "10.00", "final": False}, key="k-1")
        assert (again.status_code, again.content, again.headers["Idempotent-Replayed"]) == (201, first.content, "true")
        assert again.json()["captured_amount"] == "10.00"

    def test_statements_per_request_do_not_grow(self, client, active_account, django_assert_max_num_queries):
        """Counted with the test's own savepoint around each request. Before issue 11's change: 19
        (approved), 18 (declined), 19 (increment), 25 (capture) and 19 (reversal): each answer was read
        back (2 statements) and a change looked up the authorization's account before locking it (1);
        a capture wrote each of its two events apart (3 more statements); and the idempotent request
        and the change each took a savepoint (4 statements). A capture's posting writes its transaction
        and lines in one statement (16 before). Each change's outbox rows join its audit append, and the
        key is written with its answer rather than claimed first (two statements more each before
        2026-12-04); a capture's posting joins the audit append as well (one more before), and the head of
        the account's audit trail is locked with the account (one more before); a capture's hold release
        and posting update the account in its audit append (two more before 2026-12-05), and every change's
        new rows (the authorization, its history entry) and the account's update join it as well (a
        request was 10 statements, a decline 9, an increment and a reversal 10, a capture 9); each process
        keeps the hold rules in force for a second (a request and a decline one more before); and a request
        looks for an earlier one of its network reference in the round trip that locks the account (one
        more before, 2026-12-05)."""
        authorization = approved(client, active_account, "100.00")  # the first request of the key warms up
        with django_assert_max_num_queries(5):
            authorization = approved(client, active_account, "100.00")
        with django_assert_max_num_queries(5):
            assert request_authorization(client, active_account, "99999.00").status_code == 201
        with django_assert_max_num_queries(8):
            assert change_authorization(client, authorization["id"], "increments", {"amount": "1.00"}).status_code == 201
        with django_assert_max_num_queries(8):
            captured = change_authorization(client, authorization["id"], "captures", {"amount": "1.00", "final": False})
            assert captured.status_code == 201
        with django_assert_max_num_queries(8):
            assert change_authorization(client, authorization["id"], "reversals").status_code == 201


def _read_back(authorization_id: str) -> bytes:
    """The answer as the endpoints built it before issue 11: the authorization and its history read back."""
    shown = selectors.authorization_get(authorization_id=uuid.UUID(authorization_id))
    return json.dumps(AuthorizationDetailOut.from_orm(shown).model_dump(mode="json"), cls=DjangoJSONEncoder).encode()


def _expires(authorization: dict):
    return timezone.datetime.fromisoformat(authorization["expires_at"])
