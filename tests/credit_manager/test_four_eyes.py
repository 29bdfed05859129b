"""Four eyes on money: adjustments, reversals, manual limit decisions and policy versions are asked by
one operator and executed only when a second one approves, exactly as asked, never on changed facts,
never by the maker (the service, the back office and the database refuse it), never after expiry."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.db import IntegrityError, connection, transaction
from support import spend

from accounts.models import CreditAccount
from accounts.services import close_account
from analysis.models import CreditPolicy, LimitRequest
from approvals import services
from approvals.models import ApprovalRequest
from common.errors import DomainError
from ledger.models import LedgerTransaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def maker(db) -> User:
    return operator(
        "maker", "post_adjustment", "reverse_transaction", "review_limitrequest", "add_creditpolicy", "view_approvalrequest"
    )


@pytest.fixture
def checker(db) -> User:
    return operator("checker", "decide_approvalrequest", "view_approvalrequest")


def operator(username: str, *permissions: str) -> User:
    user = User.objects.create_user(username, password="a-long-operator-password-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
    return user


def adjustments(account) -> list[LedgerTransaction]:
    return list(LedgerTransaction.objects.filter(account=account, type="adjustment"))


def refused(code: str, call) -> None:
    with pytest.raises(DomainError) as raised:
        call()
    assert raised.value.code == code


class TestAdjustment:
    def test_an_adjustment_is_only_asked_until_a_second_operator_approves_it_then_posted_once(
        self, active_account, maker, checker
    ):
        asked = services.request_adjustment(
            account_id=active_account.id, direction="debit", amount=Decimal("25.00"), reason="late fee", requested_by=maker
        )
        assert (asked.status, adjustments(active_account)) == ("pending", [])
        approved = services.approve(request_id=asked.id, checker=checker)
        [posted] = adjustments(active_account)
        assert (approved.status, approved.decided_by, approved.result) == ("executed", checker, f"transaction {posted.id}")
        assert (posted.amount, posted.reason, posted.created_by) == (Decimal("25.00"), "late fee", maker)
        refused("APPROVAL_NOT_PENDING", lambda: services.approve(request_id=asked.id, checker=checker))
        assert len(adjustments(active_account)) == 1

    def test_the_maker_can_never_approve_or_reject_their_own_request(self, active_account, maker):
        asked = services.request_adjustment(
            account_id=active_account.id, direction="debit", amount=Decimal("25.00"), reason="late fee", requested_by=maker
        )
        refused("CHECKER_IS_MAKER", lambda: services.approve(request_id=asked.id, checker=maker))
        refused("CHECKER_IS_MAKER", lambda: services.reject(request_id=asked.id, checker=maker, note="no"))
        maker.is_superuser = True  # no bypass for superusers either
        maker.save()
        refused("CHECKER_IS_MAKER", lambda: services.approve(request_id=asked.id, checker=maker))
        assert adjustments(active_account) == []

    def test_the_database_refuses_a_request_decided_by_its_maker(self, active_account, maker):
        asked = services.request_adjustment(
            account_id=active_account.id, direction="debit", amount=Decimal("25.00"), reason="late fee", requested_by=maker
        )
        with pytest.raises(IntegrityError, match="approval_checker_is_not_maker"), transaction.atomic():
            ApprovalRequest.objects.filter(id=asked.id).update(decided_by=maker, status="executed")

    def test_a_request_whose_account_changed_in_a_way_that_matters_is_stale_and_not_executed(
        self, active_account, maker, checker
    ):
        spend(active_account, "100.00")
        asked = services.request_adjustment(
            account_id=active_account.id, direction="credit", amount=Decimal("80.00"), reason="goodwill", requested_by=maker
        )
        spend(active_account, "500.00")  # does not matter: the credit is still covered
        close_account(user_id=active_account.user_id)  # matters: the account is closing now
        refused("APPROVAL_STALE", lambda: services.approve(request_id=asked.id, checker=checker))
        asked.refresh_from_db()
        assert (asked.status, adjustments(active_account)) == ("stale", [])

    def test_an_expired_request_is_not_executed(self, active_account, maker, checker, settings):
        asked = services.request_adjustment(
            account_id=active_account.id, direction="debit", amount=Decimal("25.00"), reason="late fee", requested_by=maker
        )
        with time_machine.travel(asked.expires_at + timedelta(seconds=1), tick=False):
            refused("APPROVAL_EXPIRED", lambda: services.approve(request_id=asked.id, checker=checker))
        asked.refresh_from_db()
        assert (asked.status, adjustments(active_account)) == ("expired", [])

    def test_what_executes_is_what_was_asked(self, active_account, maker, checker):
        asked = services.request_adjustment(
            account_id=active_account.id, direction="debit", amount=Decimal("25.00"), reason="late fee", requested_by=maker
        )
        ApprovalRequest.objects.filter(id=asked.id).update(payload={**asked.payload, "amount": "2500.00"})
        refused("APPROVAL_TAMPERED", lambda: services.approve(request_id=asked.id, checker=checker))
        assert adjustments(active_account) == []

    def test_only_the_maker_cancels(self, active_account, maker, checker):
        asked = services.request_adjustment(
            account_id=active_account.id, direction="debit", amount=Decimal("25.00"), reason="late fee", requested_by=maker
        )
        refused("NOT_THE_MAKER", lambda: services.cancel(request_id=asked.id, maker=checker))
        assert services.cancel(request_id=asked.id, maker=maker).status == "cancelled"
        refused("APPROVAL_NOT_PENDING", lambda: services.approve(request_id=asked.id, checker=checker))

    def test_a_request_needs_a_reason(self, active_account, maker):
        refused(
            "REASON_REQUIRED",
            lambda: services.request_adjustment(
                account_id=active_account.id, direction="debit", amount=Decimal("1.00"), reason=" ", requested_by=maker
            ),
        )


class TestOtherMoneyDecisions:
    def test_a_reversal_executes_on_approval(self, active_account, maker, checker):
        spend(active_account, "40.00")
        purchase = LedgerTransaction.objects.get(account=active_account)
        asked = services.request_reversal(transaction_id=purchase.id, reason="duplicate charge", requested_by=maker)
        services.approve(request_id=asked.id, checker=checker)
        assert CreditAccount.objects.get(id=active_account.id).balance == 0

    def test_a_reversal_already_done_meanwhile_makes_the_request_stale(self, active_account, maker, checker):
        spend(active_account, "40.00")
        purchase = LedgerTransaction.objects.get(account=active_account)
        first = services.request_reversal(transaction_id=purchase.id, reason="duplicate charge", requested_by=maker)
        second = services.request_reversal(transaction_id=purchase.id, reason="duplicate charge", requested_by=maker)
        services.approve(request_id=first.id, checker=checker)
        refused("APPROVAL_STALE", lambda: services.approve(request_id=second.id, checker=checker))
        assert LedgerTransaction.objects.filter(type="reversal").count() == 1

    def test_a_manual_limit_decision_executes_on_approval(self, active_account, maker, checker):
        from analysis.services import decide_limit_request, request_limit

        limit_request = request_limit(account_id=active_account.id, requested_limit=Decimal("22000.00"))  # above the cap
        decide_limit_request(request_id=limit_request.id)
        assert LimitRequest.objects.get(id=limit_request.id).status == "manual_review"
        asked = services.request_limit_decision(
            limit_request_id=limit_request.id, approve=True, reason="good payer", requested_by=maker
        )
        services.approve(request_id=asked.id, checker=checker)
        assert CreditAccount.objects.get(id=active_account.id).credit_limit == Decimal("22000.00")

    def test_a_policy_version_is_published_on_approval_unless_another_was_published_meanwhile(self, maker, checker):
        edited = CreditPolicy.objects.get(version=1)
        edited.min_score, edited.note = 550, "stricter"
        asked = services.request_policy_version(source=edited, requested_by=maker)
        overtaken = services.request_policy_version(source=edited, requested_by=maker)
        assert CreditPolicy.objects.count() == 1
        assert services.approve(request_id=asked.id, checker=checker).result == "policy v2"
        assert CreditPolicy.objects.get(version=2).min_score == 550
        refused("APPROVAL_STALE", lambda: services.approve(request_id=overtaken.id, checker=checker))


@pytest.mark.django_db(transaction=True)
def test_two_checkers_approving_at_once_execute_it_once(active_account, maker):
    checkers = [operator(f"checker-{i}", "decide_approvalrequest") for i in range(2)]
    asked = services.request_adjustment(
        account_id=active_account.id, direction="debit", amount=Decimal("25.00"), reason="late fee", requested_by=maker
    )
    barrier, outcomes = threading.Barrier(2), []

    def approve(checker) -> None:
        try:
            barrier.wait()
            services.approve(request_id=asked.id, checker=checker)
            outcomes.append("executed")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(checker,)) for checker in checkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["APPROVAL_NOT_PENDING", "executed"]
    assert len(adjustments(active_account)) == 1
