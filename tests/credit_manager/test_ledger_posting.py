"""Posting purchases, payments, refunds, adjustments and reversals: double entry, declines that change
nothing, the balance and available amount after each posting, and an append-only ledger."""

import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from support import events_of, onboard, post, purchase, spend

from accounts.models import CreditAccount
from accounts.services import close_account, freeze_account
from common.errors import DomainError
from ledger.models import LedgerEntry, LedgerTransaction
from ledger.services import post_adjustment, post_transaction, reverse_transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client):
    return api_client("credit:read", "credit:write")


def lines(transaction_id) -> list[tuple[str, Decimal]]:
    return sorted(LedgerEntry.objects.filter(transaction_id=transaction_id).values_list("ledger_account", "amount"))


class TestPurchase:
    def test_a_purchase_within_the_available_credit_is_posted_in_double_entry(self, client, active_account):
        response = post(client, active_account, purchase("1200.50", description="Groceries", external_reference="ord-1"))
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body | {"id": None, "created_at": None} == {
            "id": None,
            "account_id": str(active_account.id),
            "type": "purchase",
            "direction": "debit",
            "amount": "1200.50",
            "description": "Groceries",
            "external_reference": "ord-1",
            "reverses_id": None,
            "reversed_by_id": None,
            "balance_after": "1200.50",
            "available_after": "14799.50",
            "created_at": None,
        }
        assert lines(body["id"]) == [("customer_receivable", Decimal("1200.50")), ("merchant_settlement", Decimal("-1200.50"))]
        active_account.refresh_from_db()
        assert (active_account.balance, active_account.version) == (Decimal("1200.50"), 3)

    def test_it_announces_the_posting_with_the_account_state_after_it(self, client, active_account):
        transaction_id = post(client, active_account, purchase("100.00")).json()["id"]
        [posted] = events_of(active_account, "credit.transaction.posted")
        assert posted["data"] | {"transaction_id": None, "last_decision": None} == {
            "account_id": str(active_account.id),
            "user_id": str(active_account.user_id),
            "status": "active",
            "credit_limit": "16000.00",
            "balance": "100.00",
            "held": "0.00",
            "available": "15900.00",
            "currency": "BRL",
            "version": 3,
            "transaction_id": None,
            "transaction_type": "purchase",
            "amount": "100.00",
            "last_decision": None,
        }
        assert posted["data"]["transaction_id"] == transaction_id
        assert posted["data"]["last_decision"]["decision_id"] == str(active_account.current_decision.id), "it carries the latest decision"

    def test_exactly_the_available_credit_can_be_spent(self, client, active_account):
        assert post(client, active_account, purchase("16000.00")).json()["available_after"] == "0.00"

    def test_a_purchase_above_the_available_credit_is_declined_and_changes_nothing(self, client, active_account):
        spend(active_account, "15000.00")
        response = post(client, active_account, purchase("1000.01"))
        assert response.status_code == 409 and response.json()["code"] == "INSUFFICIENT_CREDIT"
        active_account.refresh_from_db()
        assert active_account.balance == Decimal("15000.00") and active_account.version == 3
        assert LedgerTransaction.objects.count() == 1 and LedgerEntry.objects.count() == 2
        assert len(events_of(active_account, "credit.transaction.posted")) == 1

    @pytest.mark.parametrize("make_inactive", ["frozen", "closing", "closed", "denied"])
    def test_a_purchase_on_an_account_that_is_not_active_is_declined(self, client, make_inactive):
        account = onboard(income="0.00") if make_inactive == "denied" else onboard()
        if make_inactive == "frozen":
            freeze_account(user_id=account.user_id)
        if make_inactive == "closing":
            spend(account, "10.00")
            close_account(user_id=account.user_id)
        if make_inactive == "closed":
            close_account(user_id=account.user_id)
        version = CreditAccount.objects.get(id=account.id).version
        response = post(client, account, purchase("1.00"))
        assert response.status_code == 409 and response.json()["code"] == "ACCOUNT_NOT_ACTIVE"
        assert CreditAccount.objects.get(id=account.id).version == version


    def test_a_purchase_costs_a_fixed_number_of_statements(self, client, active_account, django_assert_max_num_queries):
        """Counted with the request's savepoint inside the test's transaction (in production a COMMIT, and
        a BEGIN sent with the first statement): the account's lock (with its audit trail's head), the audit
        append with the account's update, the outbox row and the transaction with its two lines, the key
        with its answer. Before 2026-12-03: 16
        (the request and the posting each took a savepoint; the answer asked whether the new transaction
        was reversed), then 11 until the transaction and its lines were written together, then 10 until
        the outbox row joined the audit append, 9 until the key was written with its answer, not claimed
        first, 8 until the transaction and its lines joined the audit append, and 7 until the head of the
        account's audit trail was locked with the account (2026-12-04), 6 until the account's update joined
        the audit append (2026-12-05)."""
        post(client, active_account, purchase("1.00"))  # the first request of the key warms up
        with django_assert_max_num_queries(5):
            assert post(client, active_account, purchase("10.00")).status_code == 201


class TestPaymentAndRefund:
    def test_a_payment_lowers_the_balance_against_cash(self, client, active_account):
        spend(active_account, "500.00")
        response = post(client, active_account, {"type": "payment", "amount": "200.00"})
        assert response.status_code == 201
        assert (response.json()["balance_after"], response.json()["available_after"]) == ("300.00", "15700.00")
        assert lines(response.json()["id"]) == [("cash", Decimal("200.00")), ("customer_receivable", Decimal("-200.00"))]

    def test_a_refund_lowers_the_balance_against_the_merchant(self, client, active_account):
        spend(active_account, "500.00")
        response = post(client, active_account, {"type": "refund", "amount": "500.00"})
        assert response.json()["balance_after"] == "0.00"
        assert lines(response.json()["id"]) == [
            ("customer_receivable", Decimal("-500.00")),
            ("merchant_settlement", Decimal("500.00")),
        ]

    @pytest.mark.parametrize(("kind", "code"), [("payment", "PAYMENT_EXCEEDS_BALANCE"), ("refund", "REFUND_EXCEEDS_BALANCE")])
    def test_never_more_than_the_balance_owed(self, client, active_account, kind, code):
        spend(active_account, "50.00")
        response = post(client, active_account, {"type": kind, "amount": "50.01"})
        assert response.status_code == 409 and response.json()["code"] == code
        active_account.refresh_from_db()
        assert active_account.balance == Decimal("50.00")

    def test_a_frozen_account_still_takes_payments(self, client, active_account):
        spend(active_account, "80.00")
        freeze_account(user_id=active_account.user_id)
        assert post(client, active_account, {"type": "payment", "amount": "80.00"}).status_code == 201

    def test_a_closed_account_takes_nothing(self, client, active_account):
        close_account(user_id=active_account.user_id)
        response = post(client, active_account, {"type": "payment", "amount": "1.00"})
        assert response.status_code == 409 and response.json()["code"] == "ACCOUNT_CLOSED"


class TestReversal:
    def test_a_reversal_posts_the_opposite_transaction(self, client, active_account):
        original = post(client, active_account, purchase("300.00")).json()
        response = client.post(
            f"/api/v1/transactions/{original['id']}/reverse", {"reason": "duplicate charge"}, content_type="application/json"
        )
        assert response.status_code == 201
        reversal = response.json()
        assert (reversal["type"], reversal["direction"], reversal["amount"]) == ("reversal", "credit", "300.00")
        assert reversal["reverses_id"] == original["id"] and reversal["balance_after"] == "0.00"
        assert lines(reversal["id"]) == [("customer_receivable", Decimal("-300.00")), ("merchant_settlement", Decimal("300.00"))]
        assert client.get(f"/api/v1/transactions/{original['id']}").json()["reversed_by_id"] == reversal["id"]

    def test_a_transaction_is_reversed_at_most_once(self, client, active_account):
        original = post(client, active_account, purchase("300.00")).json()
        url = f"/api/v1/transactions/{original['id']}/reverse"
        client.post(url, {"reason": "duplicate"}, content_type="application/json")
        again = client.post(url, {"reason": "duplicate"}, content_type="application/json")
        assert again.status_code == 409 and again.json()["code"] == "ALREADY_REVERSED"

    def test_a_reversal_cannot_be_reversed(self, active_account):
        original = post_transaction(account_id=active_account.id, type="purchase", amount=Decimal("10.00"))
        reversal = reverse_transaction(transaction_id=original.id, reason="wrong")
        with pytest.raises(Exception) as refused:
            reverse_transaction(transaction_id=reversal.id, reason="wrong again")
        assert refused.value.code == "CANNOT_REVERSE_REVERSAL"

    def test_a_returned_payment_is_owed_again_even_beyond_the_available_credit(self, active_account):
        spend(active_account, "16000.00")
        payment = post_transaction(account_id=active_account.id, type="payment", amount=Decimal("16000.00"))
        spend(active_account, "16000.00")
        reversal = reverse_transaction(transaction_id=payment.id, reason="payment bounced")
        assert reversal.balance_after == Decimal("32000.00") and reversal.available_after == 0

    def test_a_reversal_needs_a_reason(self, client, active_account):
        original = post(client, active_account, purchase("1.00")).json()
        response = client.post(f"/api/v1/transactions/{original['id']}/reverse", {"reason": " "}, content_type="application/json")
        assert response.status_code == 422

    def test_reversing_an_unknown_transaction_is_404(self, client):
        response = client.post(f"/api/v1/transactions/{uuid.uuid4()}/reverse", {"reason": "x"}, content_type="application/json")
        assert response.status_code == 404 and response.json()["code"] == "TRANSACTION_NOT_FOUND"


class TestAdjustment:
    def test_an_operator_adjustment_is_an_entry_against_adjustments_with_its_reason(self, active_account, admin_user):
        fee = post_adjustment(
            account_id=active_account.id, direction="debit", amount=Decimal("25.00"), reason="late fee", created_by=admin_user
        )
        assert (fee.type, fee.balance_after, fee.created_by, fee.reason) == (
            "adjustment",
            Decimal("25.00"),
            admin_user,
            "late fee",
        )
        assert lines(fee.id) == [("adjustments", Decimal("-25.00")), ("customer_receivable", Decimal("25.00"))]
        goodwill = post_adjustment(
            account_id=active_account.id, direction="credit", amount=Decimal("25.00"), reason="waived", created_by=admin_user
        )
        assert goodwill.balance_after == 0

    def test_an_adjustment_needs_a_reason(self, active_account, admin_user):
        with pytest.raises(Exception) as refused:
            post_adjustment(
                account_id=active_account.id, direction="debit", amount=Decimal("1.00"), reason="  ", created_by=admin_user
            )
        assert refused.value.code == "REASON_REQUIRED"


class TestAmountRules:
    """The ledger holds every caller (the API, the admin, a task) to money in positive cents."""

    @pytest.mark.parametrize(
        ("amount", "code"),
        [
            ("0.00", "AMOUNT_NOT_POSITIVE"),
            ("-1.00", "AMOUNT_NOT_POSITIVE"),
            ("NaN", "AMOUNT_NOT_POSITIVE"),
            ("Infinity", "AMOUNT_NOT_POSITIVE"),
            ("1.005", "AMOUNT_TOO_PRECISE"),
            ("1000000000000.00", "AMOUNT_TOO_LARGE"),
        ],
    )
    def test_an_amount_that_is_not_positive_cents_is_refused_and_posts_nothing(self, active_account, admin_user, amount, code):
        for post_it in (
            lambda: post_transaction(account_id=active_account.id, type="payment", amount=Decimal(amount)),
            lambda: post_adjustment(
                account_id=active_account.id, direction="debit", amount=Decimal(amount), reason="fee", created_by=admin_user
            ),
        ):
            with pytest.raises(DomainError) as refused:
                post_it()
            assert refused.value.code == code
        assert not LedgerTransaction.objects.exists()

    def test_trailing_zeros_beyond_the_cents_are_still_cents(self, active_account, admin_user):
        posted = post_adjustment(
            account_id=active_account.id, direction="debit", amount=Decimal("2.500"), reason="fee", created_by=admin_user
        )
        assert posted.amount == Decimal("2.50")


class TestAppendOnly:
    @pytest.mark.parametrize("statement", ["UPDATE ledger_ledgerentry SET amount = amount * 2", "DELETE FROM ledger_ledgerentry"])
    def test_the_database_refuses_to_change_or_delete_a_posted_line(self, active_account, statement):
        spend(active_account, "10.00")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)

    def test_the_database_refuses_to_change_a_posted_transaction(self, active_account):
        spend(active_account, "10.00")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            LedgerTransaction.objects.update(amount=Decimal("1.00"))


class TestListing:
    def test_transactions_are_listed_newest_first_and_paginated(self, client, active_account):
        for amount in ("1.00", "2.00", "3.00"):
            spend(active_account, amount)
        page = client.get(f"/api/v1/accounts/{active_account.id}/transactions?page_size=2").json()
        assert page["count"] == 3 and [t["amount"] for t in page["items"]] == ["3.00", "2.00"]
        assert [t["balance_after"] for t in page["items"]] == ["6.00", "3.00"]

    def test_the_transactions_of_an_unknown_account_are_404(self, client):
        assert client.get(f"/api/v1/accounts/{uuid.uuid4()}/transactions").status_code == 404


class TestInput:
    @pytest.mark.parametrize(
        "body",
        [
            purchase("0.00"),
            purchase("-5.00"),
            purchase("1.001"),
            purchase("NaN"),
            purchase("1e400"),
            {"type": "withdrawal", "amount": "1.00"},
            {"type": "adjustment", "amount": "1.00"},
            purchase("1.00", description="bad\x00byte"),
            purchase("1.00", external_reference="x" * 101),
        ],
    )
    def test_bad_input_is_422_and_posts_nothing(self, client, active_account, body):
        response = post(client, active_account, body)
        assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"
        assert not LedgerTransaction.objects.exists()

    def test_posting_needs_the_write_scope(self, api_client, active_account):
        response = post(api_client("credit:read"), active_account, purchase("1.00"))
        assert response.status_code == 403 and response.json()["code"] == "INSUFFICIENT_SCOPE"

    def test_posting_to_an_unknown_account_is_404(self, client):
        response = post(client, CreditAccount(id=uuid.uuid4()), purchase("1.00"))
        assert response.status_code == 404 and response.json()["code"] == "ACCOUNT_NOT_FOUND"
