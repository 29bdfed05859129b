"""Credit analysis driven by customer events: onboarding, re-analysis on income change, policy versions."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from support import customer_reference, events_of, onboard, spend, user_created

from accounts.models import CreditAccount
from analysis.models import CreditDecision, CreditPolicy
from analysis.policy import History
from analysis.selectors import POLICY_MEMORY_SECONDS, applicant_of
from analysis.services import policy_parameters, publish_policy_version, reanalyse_after_income_change
from common.errors import DomainError
from common.events import new_event
from common.events.payloads import USER_UPDATED, UserUpdated
from common.messaging.tasks import process_event
from common.testing import wait_until
from ledger.services import post_transaction

pytestmark = pytest.mark.django_db


def income_changed(account: CreditAccount, income: str | None, fields=("monthly_income",)) -> None:
    data = UserUpdated(user_id=account.user_id, changed_fields=list(fields), monthly_income=Decimal(income) if income else None)
    assert process_event.apply(args=[new_event(USER_UPDATED, subject=account.user_id, data=data).to_json()]).get() == "handled"
    account.refresh_from_db()


class TestOnboarding:
    def test_an_approved_customer_gets_an_active_account_with_the_policy_limit(self):
        account = onboard(age=40, income="8000.00")
        assert (account.status, account.credit_limit, account.balance) == ("active", Decimal("16000.00"), Decimal("0.00"))
        decision = CreditDecision.objects.get(id=account.current_decision.id)
        assert (decision.trigger, decision.outcome, decision.score) == ("onboarding", "approved", 800)
        assert decision.policy.version == 1 and decision.granted_limit == Decimal("16000.00")
        assert decision.reason_codes == ["NO_CREDIT_HISTORY"] and decision.breakdown["income"]["points"] == 350

    def test_it_announces_the_opening_then_the_decision_and_the_limit_with_the_next_version(self):
        account = onboard(age=40, income="8000.00")
        opened, completed, limit_changed = events_of(account)
        assert opened["type"] == "credit.account.opened"
        assert (opened["data"]["status"], opened["data"]["version"]) == ("pending", 1)
        assert completed["type"] == "credit.analysis.completed" and limit_changed["type"] == "credit.limit.changed"
        decision = account.current_decision
        assert completed["data"] | {"decision_id": None} == {
            "account_id": str(account.id),
            "user_id": str(account.user_id),
            "status": "active",
            "credit_limit": "16000.00",
            "balance": "0.00",
            "held": "0.00",
            "available": "16000.00",
            "currency": "BRL",
            "version": 2,
            "decision_id": None,
            "outcome": "approved",
            "score": 800,
            "reason_codes": ["NO_CREDIT_HISTORY"],
            "policy_version": 1,
            "last_decision": {
                "decision_id": str(decision.id),
                "outcome": "approved",
                "reason_codes": ["NO_CREDIT_HISTORY"],
                "decided_at": decision.created_at.isoformat().replace("+00:00", "Z"),
            },
        }
        assert limit_changed["data"]["last_decision"] == completed["data"]["last_decision"]
        assert completed["data"]["decision_id"] == str(account.current_decision.id)
        assert limit_changed["data"]["version"] == 2 and limit_changed["data"]["previous_limit"] == "0.00"
        assert account.version == 2

    @pytest.mark.parametrize(
        ("age", "income", "reason"),
        [(17, "8000.00", "AGE_UNDER_18"), (40, "0.00", "INCOME_TOO_LOW"), (20, "1500.00", "SCORE_BELOW_MINIMUM")],
    )
    def test_a_denied_customer_gets_a_denied_account_without_credit(self, age, income, reason):
        account = onboard(age=age, income=income)
        assert (account.status, account.credit_limit) == ("denied", Decimal("0.00"))
        assert account.current_decision.outcome == "denied" and account.current_decision.reason_codes[0] == reason
        completed = events_of(account, "credit.analysis.completed")[0]["data"]
        assert completed["outcome"] == "denied" and completed["reason_codes"][0] == reason and completed["status"] == "denied"
        assert events_of(account, "credit.limit.changed") == []  # the limit stayed 0.00

    def test_a_redelivered_or_replayed_user_created_opens_and_analyses_nothing_more(self):
        event = user_created()
        process_event.apply(args=[event.to_json()])
        assert process_event.apply(args=[event.to_json()]).get() == "duplicate"
        replay = user_created(uuid.UUID(event.data["user_id"]))  # the same version again, under another event id
        assert process_event.apply(args=[replay.to_json()]).get() == "stale"
        assert CreditAccount.objects.count() == 1 and CreditDecision.objects.count() == 1
        assert len(events_of(CreditAccount.objects.get())) == 3

    @pytest.mark.django_db(transaction=True)
    @pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "published-before-versions"])
    def test_two_user_created_for_one_customer_at_once_open_one_account(self, versioned):
        """Versioned, the second waits for the first and is stale; without versions, the loser fails on the
        unique key and its retry finds the account and changes nothing."""
        user_id = uuid.uuid4()
        events = [user_created(user_id) for _ in range(2)]
        if not versioned:
            events = [e.model_copy(update={"data": {**e.data, "version": None}}) for e in events]
        barrier, outcomes = threading.Barrier(2), []

        def deliver(event):
            try:
                barrier.wait()
                outcomes.append(process_event.apply(args=[event.to_json()]).get())
            finally:
                connection.close()

        threads = [threading.Thread(target=deliver, args=[event]) for event in events]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == (["handled", "stale"] if versioned else ["handled", "handled"])
        assert CreditAccount.objects.filter(user_id=user_id).count() == 1
        assert CreditDecision.objects.filter(account__user_id=user_id).count() == 1


    def test_a_new_customer_costs_a_fixed_number_of_statements(self, django_assert_max_num_queries):
        """Applying user.created (counted with the test's own savepoint around it): the inbox (versions,
        processed event), looking for the account, the policy, then one statement that inserts the
        account as its analysis leaves it, the decision, the three events' outbox rows, their audit
        entries and the head of the account's audit chain. Before 2026-12-03: 20 (an audit append and an
        outbox insert per event, the reference saved apart, and the new account's empty ledger read); 12
        until the outbox rows joined the audit append (2026-12-04); 11 until the account, its decision and
        its chain's head joined it too, the account inserted once rather than inserted and updated."""
        event = user_created(reference=customer_reference("Ana Souza", tax_id="52998224725", email="ana@example.com"))
        with django_assert_max_num_queries(7):
            assert process_event.apply(args=[event.to_json()]).get() == "handled"
        account = CreditAccount.objects.get(user_id=event.data["user_id"])
        assert (account.status, account.customer_name) == ("active", "Ana Souza")


class TestIncomeChange:
    def test_a_higher_income_raises_the_limit(self, active_account):
        income_changed(active_account, "9500.00")
        assert active_account.credit_limit == Decimal("19000.00") and active_account.version == 3
        decision = CreditDecision.objects.get(id=active_account.current_decision.id)
        assert decision.trigger == "income_change" and decision.breakdown["income"]["monthly_income"] == "9500.00"
        limit_changed = events_of(active_account, "credit.limit.changed")[-1]["data"]
        assert (limit_changed["previous_limit"], limit_changed["credit_limit"], limit_changed["version"]) == (
            "16000.00",
            "19000.00",
            3,
        )

    def test_a_lower_limit_never_drops_below_the_balance_owed(self, active_account):
        spend(active_account, "9000.00")
        income_changed(active_account, "2500.00")  # the policy now grants 2500 × 1.5 = 3750
        assert active_account.credit_limit == Decimal("9000.00") and active_account.available == 0
        assert active_account.status == "active"
        with pytest.raises(DomainError) as declined:
            spend(active_account, "0.01")
        assert declined.value.code == "INSUFFICIENT_CREDIT"

    def test_paying_down_an_over_limit_protected_account_frees_credit_again(self, active_account):
        spend(active_account, "9000.00")
        income_changed(active_account, "2500.00")
        post_transaction(account_id=active_account.id, type="payment", amount=Decimal("1000.00"))
        spend(active_account, "1000.00")
        active_account.refresh_from_db()
        assert active_account.balance == Decimal("9000.00")

    def test_losing_the_income_denies_credit_and_keeps_what_is_owed_as_the_limit(self, active_account):
        spend(active_account, "300.00")
        income_changed(active_account, "0.00")
        assert (active_account.status, active_account.credit_limit) == ("denied", Decimal("300.00"))
        assert "INCOME_TOO_LOW" in active_account.current_decision.reason_codes

    def test_a_denied_customer_whose_income_rises_is_approved(self):
        account = onboard(age=40, income="0.00")
        income_changed(account, "3000.00")
        assert account.status == "active" and account.credit_limit > 0

    def test_an_update_without_a_new_income_changes_nothing(self, active_account):
        income_changed(active_account, None, fields=["phone"])
        assert active_account.version == 2 and CreditDecision.objects.count() == 1

    def test_the_same_income_again_is_no_new_decision(self, active_account):
        """Every customer event carries the income: only a different one is analysed again."""
        income_changed(active_account, "8000.00")
        assert CreditDecision.objects.count() == 1 and active_account.version == 2
        assert len(events_of(active_account, "credit.analysis.completed")) == 1

    def test_a_frozen_account_is_analysed_but_stays_frozen(self, active_account):
        from accounts.services import freeze_account

        freeze_account(user_id=active_account.user_id)
        income_changed(active_account, "0.00")
        assert active_account.status == "frozen" and active_account.current_decision.outcome == "denied"

    def test_an_account_being_closed_is_not_analysed(self, active_account):
        from accounts.services import close_account

        spend(active_account, "10.00")
        close_account(user_id=active_account.user_id)
        income_changed(active_account, "9500.00")
        assert active_account.status == "closing" and active_account.monthly_income == Decimal("9500.00")
        assert CreditDecision.objects.count() == 1

    def test_an_income_change_for_an_unknown_customer_fails_so_the_event_is_retried(self):
        with pytest.raises(DomainError) as refused:  # the event handler parks the event until the account exists
            reanalyse_after_income_change(user_id=uuid.uuid4(), monthly_income=Decimal("100.00"))
        assert refused.value.code == "ACCOUNT_NOT_FOUND"


class TestAccountHistory:
    """What the ledger tells the policy; ``now`` is moved forward, since posted lines cannot be backdated."""

    def history(self, account: CreditAccount, *, days_from_now: int):
        policy = CreditPolicy.objects.get(version=1)
        return applicant_of(account, policy=policy, now=timezone.now() + timedelta(days=days_from_now)).history

    def test_an_account_without_transactions_has_no_history(self, active_account):
        assert self.history(active_account, days_from_now=0) is None

    def test_periods_that_began_owing_money_without_a_payment_are_late(self, active_account):
        spend(active_account, "4000.00")
        active_account.refresh_from_db()
        # Periods of 30 days back from now + 70: two began after the purchase, owing 4000.00, with no payment.
        assert self.history(active_account, days_from_now=70) == History(
            utilisation=Decimal("0.25"), due_periods=2, paid_periods=0
        )
        income_changed(active_account, "9000.00")  # a new income, so the account is analysed again
        assert active_account.current_decision.reason_codes == []  # today nothing was due yet

    def test_nothing_owed_means_nothing_due(self, active_account):
        spend(active_account, "4000.00")
        post_transaction(account_id=active_account.id, type="payment", amount=Decimal("4000.00"))
        assert self.history(active_account, days_from_now=70) == History(
            utilisation=Decimal("0.00"), due_periods=0, paid_periods=0
        )


class TestPolicyVersions:
    def test_an_edit_is_published_as_the_next_version_and_decisions_keep_theirs(self, active_account, admin_user):
        edited = CreditPolicy.objects.get(version=1)
        edited.min_age = 45
        published = publish_policy_version(source=edited, created_by=admin_user)
        assert published.version == 2 and published.created_by == admin_user
        assert CreditPolicy.objects.get(version=1).min_age == 18  # the old version is untouched

        late = onboard(age=40, income="8000.00")
        assert late.status == "denied" and late.current_decision.policy_version == 2
        assert late.current_decision.reason_codes[0] == "AGE_BELOW_MINIMUM"
        active_account.refresh_from_db()
        assert active_account.current_decision.policy_version == 1

    def test_an_analysis_reads_the_policy_in_force_once_per_process(self):
        onboard()
        with CaptureQueriesContext(connection) as statements:
            onboard()
        assert not [q["sql"] for q in statements if f'FROM "{CreditPolicy._meta.db_table}"' in q["sql"]]

    def test_a_version_published_by_another_process_is_in_force_here_within_a_second(self):
        assert onboard().current_decision.policy_version == 1
        stricter = CreditPolicy.objects.get(version=1)
        stricter.min_age = 45
        CreditPolicy.objects.create(**policy_parameters(stricter), version=2)  # as another process publishes it
        wait_until(
            lambda: onboard(age=40).current_decision.policy_version == 2,
            timeout=POLICY_MEMORY_SECONDS + 1,
            interval=0.1,
            what="the new version in force",
        )

    def test_an_inconsistent_policy_is_not_published(self, admin_user):
        edited = CreditPolicy.objects.get(version=1)
        edited.age_band_3_from = 20
        with pytest.raises(DomainError) as refused:
            publish_policy_version(source=edited, created_by=admin_user)
        assert refused.value.code == "INVALID_POLICY" and CreditPolicy.objects.count() == 1

