"""Limit requests: taken with 202, analysed by a queue worker after commit, approved / denied / sent to
manual review; operators decide manual reviews with a reason; approved limits are announced."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from support import events_of, onboard, spend

from accounts.services import freeze_account
from analysis.models import CreditDecision, LimitRequest
from analysis.services import decide_limit_request, requeue_pending_limit_requests, review_limit_request
from analysis.tasks import decide_limit_request_task
from credit_manager.celery import app as celery_app
from ledger.services import post_transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client):
    return api_client("credit:read", "credit:write")


@pytest.fixture
def eager_tasks():
    """Tasks queued by the code under test run in this process, at once."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def ask(client, account, limit: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/accounts/{account.id}/limit-requests", {"requested_limit": limit}, content_type="application/json"
        )
    return response


@pytest.fixture
def request_limit(client, eager_tasks, django_capture_on_commit_callbacks):
    """``request_limit(account, "20000.00")``: POST the request, let the queue worker decide it, and
    return the request as the API then shows it."""

    def make(account, limit: str) -> dict:
        response = ask(client, account, limit, django_capture_on_commit_callbacks)
        assert response.status_code == 202, response.json()
        return client.get(f"/api/v1/limit-requests/{response.json()['id']}").json()

    return make


class TestTaking:
    def test_a_request_is_taken_as_pending_and_its_analysis_queued_after_commit(
        self, client, active_account, eager_tasks, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks() as after_commit:
            response = client.post(
                f"/api/v1/accounts/{active_account.id}/limit-requests",
                {"requested_limit": "20000.00"},
                content_type="application/json",
            )
        assert response.status_code == 202
        body = response.json()
        assert (body["status"], body["requested_limit"], body["decision"], body["decided_at"]) == (
            "pending",
            "20000.00",
            None,
            None,
        )
        assert LimitRequest.objects.get().status == "pending"  # nothing was decided inside the request's transaction
        for callback in after_commit:
            callback()
        assert LimitRequest.objects.get().status == "manual_review"

    @pytest.mark.parametrize(("limit", "code"), [("16000.00", "LIMIT_UNCHANGED"), ("99.99", "LIMIT_BELOW_BALANCE")])
    def test_a_request_that_cannot_be_met_is_refused_at_once(self, client, active_account, limit, code):
        spend(active_account, "100.00")
        response = client.post(
            f"/api/v1/accounts/{active_account.id}/limit-requests", {"requested_limit": limit}, content_type="application/json"
        )
        assert response.status_code == 409 and response.json()["code"] == code
        assert not LimitRequest.objects.exists()

    def test_an_account_that_is_not_active_cannot_ask(self, client):
        denied = onboard(income="0.00")
        response = client.post(
            f"/api/v1/accounts/{denied.id}/limit-requests", {"requested_limit": "100.00"}, content_type="application/json"
        )
        assert response.status_code == 409 and response.json()["code"] == "ACCOUNT_NOT_ACTIVE"

    def test_one_request_at_a_time(self, client, active_account):
        url = f"/api/v1/accounts/{active_account.id}/limit-requests"
        assert client.post(url, {"requested_limit": "17000.00"}, content_type="application/json").status_code == 202
        second = client.post(url, {"requested_limit": "18000.00"}, content_type="application/json")
        assert second.status_code == 409 and second.json()["code"] == "LIMIT_REQUEST_OPEN"

    def test_unknown_accounts_and_requests_are_404(self, client):
        post = client.post(
            f"/api/v1/accounts/{uuid.uuid4()}/limit-requests", {"requested_limit": "1.00"}, content_type="application/json"
        )
        assert post.status_code == 404 and post.json()["code"] == "ACCOUNT_NOT_FOUND"
        get = client.get(f"/api/v1/limit-requests/{uuid.uuid4()}")
        assert get.status_code == 404 and get.json()["code"] == "LIMIT_REQUEST_NOT_FOUND"

    def test_asking_needs_the_write_scope(self, api_client, active_account):
        url = f"/api/v1/accounts/{active_account.id}/limit-requests"
        assert (
            api_client("credit:read").post(url, {"requested_limit": "1.00"}, content_type="application/json").status_code == 403
        )


class TestDecision:
    def test_up_to_what_the_policy_grants_is_approved_and_the_new_limit_announced(self, request_limit):
        account = onboard(age=30, income="3000.00")  # score 650: limit 4500.00
        post_transaction(account_id=account.id, type="purchase", amount=Decimal("500.00"))
        post_transaction(account_id=account.id, type="payment", amount=Decimal("500.00"))
        # A history now: nothing was due yet and nothing is used, 300 history points; score 800, limit 6000.00.
        decided = request_limit(account, "6000.00")
        assert decided["status"] == "approved" and decided["decided_at"]
        decision = decided["decision"]
        assert (decision["trigger"], decision["outcome"], decision["score"], decision["granted_limit"]) == (
            "limit_request", "approved", 800, "6000.00"
        )  # fmt: skip
        assert decision["breakdown"]["history"]["utilisation"] == {"ratio": "0.00", "points": 150}
        account.refresh_from_db()
        assert account.credit_limit == Decimal("6000.00") and str(account.current_decision.id) == decision["id"]
        completed = events_of(account, "credit.analysis.completed")[-1]["data"]
        limit_changed = events_of(account, "credit.limit.changed")[-1]["data"]
        assert completed["decision_id"] == decision["id"] and completed["outcome"] == "approved"
        assert completed["version"] == limit_changed["version"] == account.version
        assert (limit_changed["previous_limit"], limit_changed["credit_limit"]) == ("4500.00", "6000.00")

    def test_a_lower_limit_is_approved(self, request_limit, active_account):
        decided = request_limit(active_account, "1000.00")
        assert decided["status"] == "approved" and decided["decision"]["reason_codes"] == ["LIMIT_DECREASE"]

    def test_up_to_the_manual_review_factor_goes_to_manual_review_and_changes_nothing_yet(self, request_limit, active_account):
        decided = request_limit(active_account, "24000.00")  # the policy grants 16000.00; × 1.5 = 24000.00
        assert decided["status"] == "manual_review"
        assert (
            decided["decision"]["outcome"] == "manual_review" and "MANUAL_REVIEW_REQUIRED" in decided["decision"]["reason_codes"]
        )
        active_account.refresh_from_db()
        assert active_account.credit_limit == Decimal("16000.00") and active_account.version == 2
        completed = events_of(active_account, "credit.analysis.completed")[-1]["data"]
        assert completed["outcome"] == "manual_review" and completed["version"] == 2

    def test_above_the_manual_review_factor_is_denied(self, request_limit, active_account):
        decided = request_limit(active_account, "24000.01")
        assert decided["status"] == "denied" and decided["decision"]["reason_codes"][-1] == "LIMIT_ABOVE_POLICY"
        assert len(events_of(active_account, "credit.limit.changed")) == 1  # only onboarding's

    def test_an_account_frozen_before_the_analysis_is_denied(self, client, active_account, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False):
            request_id = client.post(
                f"/api/v1/accounts/{active_account.id}/limit-requests",
                {"requested_limit": "1000.00"},
                content_type="application/json",
            ).json()["id"]
        freeze_account(user_id=active_account.user_id)
        decided = decide_limit_request(request_id=uuid.UUID(request_id))
        assert decided.status == "denied" and decided.decisions.get().reason_codes == ["ACCOUNT_NOT_ACTIVE"]

    def test_a_redelivered_task_for_a_decided_request_does_nothing(self, request_limit, active_account):
        decided = request_limit(active_account, "1000.00")
        assert decide_limit_request_task.apply(args=[decided["id"]]).get() == "approved"
        assert CreditDecision.objects.filter(limit_request_id=decided["id"]).count() == 1
        assert len(events_of(active_account, "credit.analysis.completed")) == 2

    def test_requests_left_pending_are_queued_again(
        self, client, active_account, eager_tasks, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False):  # the task is lost (broker outage)
            request_id = client.post(
                f"/api/v1/accounts/{active_account.id}/limit-requests",
                {"requested_limit": "1000.00"},
                content_type="application/json",
            ).json()["id"]
        assert requeue_pending_limit_requests() == 0  # too recent: its task may still come
        LimitRequest.objects.filter(id=request_id).update(created_at=timezone.now() - timedelta(minutes=2))
        assert requeue_pending_limit_requests() == 1
        assert LimitRequest.objects.get(id=request_id).status == "approved"


class TestManualReview:
    @pytest.fixture
    def in_review(self, request_limit, active_account) -> LimitRequest:
        decided = request_limit(active_account, "20000.00")
        assert decided["status"] == "manual_review"
        return LimitRequest.objects.get(id=decided["id"])

    def test_an_operator_approves_with_a_reason_and_the_limit_changes(self, in_review, admin_user, client):
        review_limit_request(request_id=in_review.id, approve=True, reason="long-standing customer", decided_by=admin_user)
        in_review.refresh_from_db()
        assert (in_review.status, in_review.decided_by, in_review.review_reason) == (
            "approved",
            admin_user,
            "long-standing customer",
        )
        account = in_review.account
        account.refresh_from_db()
        assert account.credit_limit == Decimal("20000.00")
        shown = client.get(f"/api/v1/limit-requests/{in_review.id}").json()
        assert shown["decision"]["decided_by"] == "operator" and shown["decision"]["reason_codes"] == ["APPROVED_BY_OPERATOR"]
        assert shown["decision"]["note"] == "long-standing customer" and shown["decision"]["granted_limit"] == "20000.00"
        completed = events_of(account, "credit.analysis.completed")[-1]["data"]
        assert completed["outcome"] == "approved" and completed["reason_codes"] == ["APPROVED_BY_OPERATOR"]
        assert events_of(account, "credit.limit.changed")[-1]["data"]["credit_limit"] == "20000.00"

    def test_an_operator_denies_with_a_reason(self, in_review, admin_user):
        review_limit_request(request_id=in_review.id, approve=False, reason="income not verified", decided_by=admin_user)
        in_review.refresh_from_db()
        assert in_review.status == "denied" and in_review.decided_at is not None
        assert in_review.account.credit_limit == Decimal("16000.00")
        operators = in_review.decisions.get(decided_by=admin_user)
        assert (operators.outcome, operators.reason_codes, operators.note) == (
            "denied",
            ["DENIED_BY_OPERATOR"],
            "income not verified",
        )

    def test_a_review_needs_a_reason(self, in_review, admin_user):
        with pytest.raises(Exception) as refused:
            review_limit_request(request_id=in_review.id, approve=True, reason="", decided_by=admin_user)
        assert refused.value.code == "REASON_REQUIRED"

    def test_only_requests_in_manual_review_can_be_reviewed(self, in_review, admin_user):
        review_limit_request(request_id=in_review.id, approve=False, reason="no", decided_by=admin_user)
        with pytest.raises(Exception) as refused:
            review_limit_request(request_id=in_review.id, approve=True, reason="changed my mind", decided_by=admin_user)
        assert refused.value.code == "LIMIT_REQUEST_NOT_IN_REVIEW"

    def test_a_frozen_account_cannot_be_given_more_credit(self, in_review, admin_user):
        freeze_account(user_id=in_review.account.user_id)
        with pytest.raises(Exception) as refused:
            review_limit_request(request_id=in_review.id, approve=True, reason="ok", decided_by=admin_user)
        assert refused.value.code == "ACCOUNT_NOT_ACTIVE"
