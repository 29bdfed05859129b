"""The credit back office: the same services as the API behind every action, read-only history,
and policy edits that publish a new version."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from support import onboard, spend

from accounts.models import CreditAccount
from analysis.models import CreditPolicy, LimitRequest
from analysis.services import decide_limit_request, request_limit
from approvals.models import ApprovalRequest
from authorizations.models import Authorization, HoldRule
from authorizations.services import Merchant, authorize, capture
from ledger.models import LedgerEntry, LedgerTransaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def checker_client(client) -> object:
    """A second operator, who may approve requests: the four eyes' other two."""
    checker = User.objects.create_user("checker", password="a-long-checker-password-1", is_staff=True)
    checker.user_permissions.add(
        *Permission.objects.filter(codename__in=["decide_approvalrequest", "view_approvalrequest"])
    )
    client.force_login(checker)
    return client


def run_action(client, changelist: str, action: str, rows, **fields):
    data = {"action": action, "_selected_action": [str(row.pk) for row in rows], "index": 0, **fields}
    return client.post(f"/admin/{changelist}/", data, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


class TestAccounts:
    @pytest.mark.parametrize(
        "query", ["", "?status__exact=active", "?over_limit=yes", "?over_limit=no", "?utilisation=low", "?utilisation=medium",
                  "?utilisation=high", "?utilisation=full", "?o=6"],
    )  # fmt: skip
    def test_the_account_list_filters(self, admin_client, active_account, query):
        assert admin_client.get(f"/admin/accounts/creditaccount/{query}").status_code == 200

    def test_the_filters_find_accounts_at_or_over_their_limit_and_by_utilisation(self, admin_client):
        full, half, unused = onboard(), onboard(), onboard()
        spend(full, "16000.00")
        spend(half, "8000.00")
        shown = lambda query: set(admin_client.get(f"/admin/accounts/creditaccount/{query}").context["cl"].result_list)  # noqa: E731
        assert shown("?over_limit=yes") == {full}
        assert shown("?utilisation=medium") == {half} and shown("?utilisation=full") == {full}
        assert unused in shown("?utilisation=low")

    @pytest.mark.parametrize(
        "changelist", ["analysis/creditdecision", "ledger/ledgertransaction", "analysis/limitrequest", "authorizations/authorization"]
    )
    def test_the_account_page_links_to_the_accounts_history(self, admin_client, active_account, changelist):
        page = admin_client.get(f"/admin/accounts/creditaccount/{active_account.id}/change/").content.decode()
        link = f"/admin/{changelist}/?account__id__exact={active_account.id}"
        assert link in page and admin_client.get(link).status_code == 200

    def test_the_account_page_is_read_only(self, admin_client, active_account):
        page = admin_client.get(f"/admin/accounts/creditaccount/{active_account.id}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content
        before = active_account.credit_limit
        admin_client.post(f"/admin/accounts/creditaccount/{active_account.id}/change/", {"credit_limit": "99999.00"})
        active_account.refresh_from_db()
        assert active_account.credit_limit == before

    def test_an_adjustment_is_asked_then_posted_once_when_a_second_operator_approves_it(
        self, admin_client, admin_user, checker_client, active_account
    ):
        response = run_action(
            admin_client, "accounts/creditaccount", "ask_adjustment", [active_account], direction="debit", amount="25.00",
            reason="late fee",
        )  # fmt: skip
        assert "1 adjustment(s) asked." in messages_of(response)
        assert not LedgerTransaction.objects.exists()
        asked = ApprovalRequest.objects.get()
        page = admin_client.get(f"/admin/accounts/creditaccount/{active_account.id}/change/").content.decode()
        assert "debit adjustment of 25.00" in page  # waiting for approval, on the account's page
        refused = run_action(admin_client, "approvals/approvalrequest", "approve", [asked])
        assert any("CHECKER_IS_MAKER" in message for message in messages_of(refused))
        approved = run_action(checker_client, "approvals/approvalrequest", "approve", [asked])
        assert "1 request(s) approved and executed." in messages_of(approved)
        adjustment = LedgerTransaction.objects.get(type="adjustment")
        assert (adjustment.amount, adjustment.reason, adjustment.created_by) == (Decimal("25.00"), "late fee", admin_user)
        run_action(checker_client, "approvals/approvalrequest", "approve", [asked])
        assert LedgerTransaction.objects.filter(type="adjustment").count() == 1

    def test_an_adjustment_without_a_reason_is_refused(self, admin_client, active_account):
        response = run_action(
            admin_client, "accounts/creditaccount", "ask_adjustment", [active_account], direction="debit", amount="25.00"
        )
        assert any("REASON_REQUIRED" in message for message in messages_of(response))
        assert not ApprovalRequest.objects.exists()


class TestLedger:
    def test_transactions_and_lines_are_read_only(self, admin_client, active_account):
        spend(active_account, "10.00")
        posted = LedgerTransaction.objects.get()
        page = admin_client.get(f"/admin/ledger/ledgertransaction/{posted.id}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content
        assert admin_client.get(f"/admin/ledger/ledgertransaction/{posted.id}/delete/").status_code == 403
        assert admin_client.get("/admin/ledger/ledgerentry/add/").status_code == 403
        assert admin_client.get(f"/admin/ledger/ledgerentry/{LedgerEntry.objects.first().id}/delete/").status_code == 403

    def test_a_reversal_is_asked_then_posted_when_a_second_operator_approves_it(
        self, admin_client, admin_user, checker_client, active_account
    ):
        spend(active_account, "10.00")
        posted = LedgerTransaction.objects.get()
        response = run_action(admin_client, "ledger/ledgertransaction", "ask_reversal", [posted], reason="charged twice")
        assert "1 reversal(s) asked." in messages_of(response)
        assert not LedgerTransaction.objects.filter(reverses=posted).exists()
        run_action(checker_client, "approvals/approvalrequest", "approve", [ApprovalRequest.objects.get()])
        reversal = LedgerTransaction.objects.get(reverses=posted)
        assert (reversal.reason, reversal.created_by, reversal.balance_after) == ("charged twice", admin_user, Decimal("0.00"))

    def test_an_operator_without_the_permission_gets_no_reverse_action(self, client, active_account):
        clerk = User.objects.create_user("clerk", password="x", is_staff=True)
        clerk.user_permissions.add(Permission.objects.get(codename="view_ledgertransaction"))
        client.force_login(clerk)
        page = client.get("/admin/ledger/ledgertransaction/")
        assert page.status_code == 200 and b'value="ask_reversal"' not in page.content


class TestManualReviewQueue:
    def test_operators_ask_for_manual_review_decisions_that_a_second_one_approves(
        self, admin_client, admin_user, checker_client, active_account
    ):
        limit_request = request_limit(account_id=active_account.id, requested_limit=Decimal("20000.00"))
        decide_limit_request(request_id=limit_request.id)
        queue = admin_client.get("/admin/analysis/limitrequest/?status__exact=manual_review")
        assert list(queue.context["cl"].result_list) == [LimitRequest.objects.get()]
        assert admin_client.get(f"/admin/analysis/limitrequest/{limit_request.id}/change/").status_code == 200

        response = run_action(admin_client, "analysis/limitrequest", "ask_approval", [limit_request], reason="verified payslips")
        assert "1 decision(s) asked." in messages_of(response)
        assert LimitRequest.objects.get().status == "manual_review"
        run_action(checker_client, "approvals/approvalrequest", "approve", [ApprovalRequest.objects.get()])
        limit_request.refresh_from_db()
        assert (limit_request.status, limit_request.decided_by, limit_request.review_reason) == (
            "approved",
            admin_user,
            "verified payslips",
        )
        assert CreditAccount.objects.get(id=active_account.id).credit_limit == Decimal("20000.00")

    def test_a_request_not_in_review_becomes_stale_and_is_refused(self, admin_client, checker_client, active_account):
        limit_request = request_limit(account_id=active_account.id, requested_limit=Decimal("100.00"))
        run_action(admin_client, "analysis/limitrequest", "ask_denial", [limit_request], reason="no")
        decide_limit_request(request_id=limit_request.id)  # decided by the analysis meanwhile
        response = run_action(checker_client, "approvals/approvalrequest", "approve", [ApprovalRequest.objects.get()])
        assert any("APPROVAL_STALE" in message for message in messages_of(response))


class TestDecisionsAndPolicies:
    def test_decisions_show_their_breakdown(self, admin_client, active_account):
        page = admin_client.get(f"/admin/analysis/creditdecision/{active_account.current_decision.id}/change/")
        assert page.status_code == 200 and b"&quot;points&quot;: 350" in page.content
        assert admin_client.get("/admin/analysis/creditdecision/?trigger__exact=onboarding&policy__version=1").status_code == 200

    def test_editing_a_policy_asks_for_the_next_version_published_when_a_second_operator_approves(
        self, admin_client, admin_user, checker_client
    ):
        from django.forms.models import model_to_dict

        current = CreditPolicy.objects.get(version=1)
        form = {k: v for k, v in model_to_dict(current).items() if v is not None and k not in ("id", "version", "created_by")}
        response = admin_client.post(
            f"/admin/analysis/creditpolicy/{current.id}/change/", {**form, "min_score": "550", "note": "stricter"}, follow=True
        )
        assert response.status_code == 200
        assert any(message.startswith("Asked: the new policy version is published when") for message in messages_of(response))
        assert list(CreditPolicy.objects.values_list("version", "min_score")) == [(1, 500)]
        run_action(checker_client, "approvals/approvalrequest", "approve", [ApprovalRequest.objects.get()])
        assert CreditPolicy.objects.get(version=1).min_score == 500
        published = CreditPolicy.objects.get(version=2)
        assert (published.min_score, published.note, published.created_by) == (550, "stricter", admin_user)
        assert onboard(age=20, income="2500.00").current_decision.policy_version == 2

    def test_an_inconsistent_policy_is_shown_back_with_the_error(self, admin_client):
        from django.forms.models import model_to_dict

        current = CreditPolicy.objects.get(version=1)
        form = {k: v for k, v in model_to_dict(current).items() if v is not None and k not in ("id", "version", "created_by")}
        response = admin_client.post(f"/admin/analysis/creditpolicy/{current.id}/change/", {**form, "age_band_3_from": "20"})
        assert response.status_code == 200 and b"age bands must start at increasing ages" in response.content
        assert CreditPolicy.objects.count() == 1

    def test_policies_are_never_deleted(self, admin_client):
        assert admin_client.get(f"/admin/analysis/creditpolicy/{CreditPolicy.objects.get().id}/delete/").status_code == 403

    @pytest.mark.parametrize("page", ["/admin/", "/admin/analysis/creditpolicy/add/", "/admin/idempotency/idempotencyrecord/"])
    def test_other_pages_render(self, admin_client, page):
        assert admin_client.get(page).status_code == 200


@pytest.mark.parametrize("fields", [{"direction": "debit"}, {"amount": "5.00"}, {"direction": "debit", "amount": "five"},
                                    {"direction": "debit", "amount": "NaN"}])  # fmt: skip
def test_an_adjustment_needs_a_direction_and_an_amount_typed_as_a_number(admin_client, active_account, fields):
    response = run_action(admin_client, "accounts/creditaccount", "ask_adjustment", [active_account], reason="fee", **fields)
    assert "Choose a direction and type the amount as a number, e.g. 25.00." in messages_of(response)
    assert not LedgerTransaction.objects.exists()


@pytest.mark.parametrize(("amount", "code"), [("1.005", "AMOUNT_TOO_PRECISE"), ("0", "AMOUNT_NOT_POSITIVE"),
                                              ("-5.00", "AMOUNT_NOT_POSITIVE")])  # fmt: skip
def test_the_service_refuses_an_amount_not_above_zero_or_with_more_than_two_decimals(admin_client, active_account, amount, code):
    response = run_action(
        admin_client, "accounts/creditaccount", "ask_adjustment", [active_account], reason="fee", direction="debit", amount=amount
    )
    assert any(message.startswith("Refused:") and code in message for message in messages_of(response))
    assert not ApprovalRequest.objects.exists()


class TestCardAuthorizations:
    """Authorizations are read-only history with filters; releasing a hold is the same service as the API."""

    @pytest.mark.parametrize(
        "query", ["", "?status__exact=pending", "?expiring=24h", "?expiring=past", "?over_limit__exact=1", "?merchant_mcc=5812",
                  "?q=Mercado", "?o=6"],
    )  # fmt: skip
    def test_the_authorization_list_filters(self, admin_client, active_account, query):
        hold(active_account, "10.00")
        assert admin_client.get(f"/admin/authorizations/authorization/{query}").status_code == 200

    def test_the_filters_find_holds_expiring_soon_past_expiry_and_over_limit_captures(self, admin_client, active_account):
        soon, later, past = hold(active_account, "10.00"), hold(active_account, "10.00"), hold(active_account, "10.00")
        now = timezone.now()
        Authorization.objects.filter(id=soon.id).update(expires_at=now + timedelta(hours=3))
        Authorization.objects.filter(id=past.id).update(expires_at=now - timedelta(minutes=1))
        spend(active_account, "15970.00")
        over = hold(active_account, "0.00")  # declined: no room left
        forced = capture(authorization_id=later.id, amount=Decimal("50.00"), force=True)
        shown = lambda query: set(admin_client.get(f"/admin/authorizations/authorization/{query}").context["cl"].result_list)  # noqa: E731
        assert shown("?expiring=24h") == {soon} and shown("?expiring=past") == {past}
        assert shown("?over_limit__exact=1") == {forced}
        assert shown("?status__exact=declined") == {over}

    def test_the_authorization_page_shows_its_history(self, admin_client, active_account):
        authorization = hold(active_account, "100.00")
        capture(authorization_id=authorization.id, amount=Decimal("60.00"), final=False)
        page = admin_client.get(f"/admin/authorizations/authorization/{authorization.id}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content
        history = [(row.kind, row.amount) for row in page.context["inline_admin_formsets"][0].formset.queryset]
        assert history == [("request", Decimal("100.00")), ("capture", Decimal("60.00"))]

    def test_reversing_releases_the_hold_with_the_operators_reason(self, admin_client, admin_user, active_account):
        authorization = hold(active_account, "100.00")
        response = run_action(admin_client, "authorizations/authorization", "reverse", [authorization], reason="merchant cancelled")
        assert "1 authorization(s) reversed." in messages_of(response)
        authorization.refresh_from_db()
        step = authorization.history.last()
        assert (authorization.status, step.kind, step.reason, step.created_by) == ("reversed", "reversal", "merchant cancelled", admin_user)
        assert CreditAccount.objects.get(id=active_account.id).held == 0

    def test_reversing_needs_a_reason_and_refuses_a_final_authorization(self, admin_client, active_account):
        pending, ended = hold(active_account, "100.00"), hold(active_account, "100.00")
        capture(authorization_id=ended.id, amount=Decimal("100.00"))
        response = run_action(admin_client, "authorizations/authorization", "reverse", [pending])
        assert any("REASON_REQUIRED" in message for message in messages_of(response))
        response = run_action(admin_client, "authorizations/authorization", "reverse", [ended], reason="asked")
        assert any("AUTHORIZATION_FINAL" in message for message in messages_of(response))
        assert Authorization.objects.get(id=pending.id).status == "pending"

    def test_the_reverse_action_needs_its_permission(self, client, active_account):
        operator = User.objects.create_user("viewer", password="pw-12345678", is_staff=True)
        operator.user_permissions.add(Permission.objects.get(codename="view_authorization"))
        client.force_login(operator)
        page = client.get("/admin/authorizations/authorization/")
        assert page.status_code == 200 and "reverse" not in dict(page.context["cl"].model_admin.get_actions(page.wsgi_request))

    def test_saving_a_hold_rule_publishes_the_categorys_next_version_and_keeps_the_old_one(self, admin_client, admin_user, active_account):
        rule = HoldRule.objects.get(mcc="7011", version=1)
        old = hold(active_account, "10.00", mcc="7011")
        form = {"mcc": "7011", "category": "hotels", "expiry_days": "21", "capture_tolerance_percent": "10.00", "note": "shorter"}
        response = admin_client.post(f"/admin/authorizations/holdrule/{rule.id}/change/", form, follow=True)
        assert "Published as version 2 of this rule, in force from now on." in messages_of(response)
        rule.refresh_from_db()
        assert (rule.version, rule.expiry_days) == (1, 30)  # the version in use is never edited
        published = HoldRule.objects.get(mcc="7011", version=2)
        assert (published.expiry_days, published.created_by) == (21, admin_user)
        new = hold(active_account, "10.00", mcc="7011")
        assert (old.hold_rule, new.hold_rule) == (rule, published)

    def test_an_invalid_hold_rule_is_refused_on_the_form(self, admin_client):
        form = {"mcc": "12", "category": "", "expiry_days": "0", "capture_tolerance_percent": "101", "note": ""}
        response = admin_client.post("/admin/authorizations/holdrule/add/", form)
        assert response.status_code == 200 and set(response.context["adminform"].form.errors) == {
            "mcc", "expiry_days", "capture_tolerance_percent"
        }  # fmt: skip
        assert not HoldRule.objects.filter(mcc="12").exists()


def hold(account: CreditAccount, amount: str, *, mcc: str = "5411") -> Authorization:
    authorization, _ = authorize(
        account_id=account.id, amount=Decimal(amount), merchant=Merchant(name="Mercado Azul", mcc=mcc), network_reference=uuid.uuid4().hex
    )
    return authorization


class TestScreensOperatorsRead:
    """What an operator reads: money first, times to the second, decisions explained, each thing where it belongs."""

    def test_lists_show_times_to_the_second_and_money_first(self, admin_client, active_account):
        spend(active_account, "10.00")
        posted = LedgerTransaction.objects.get()
        page = admin_client.get("/admin/ledger/ledgertransaction/").content.decode()
        assert f"{posted.created_at:%Y-%m-%d %H:%M:%S}" in page
        headers = admin_client.get("/admin/ledger/ledgertransaction/").context["cl"].list_display
        assert list(headers[1:3]) == ["amount", "type"]

    def test_a_decision_is_explained_factor_by_factor_with_its_reason_codes(self, admin_client, active_account):
        page = admin_client.get(f"/admin/analysis/creditdecision/{active_account.current_decision.id}/change/").content.decode()
        assert "<th>factor</th><th>value</th><th>band</th><th>points</th><th>reason codes</th>" in page
        assert "<tr><td>income</td><td>8000.00</td><td>3</td><td>350</td><td>—</td></tr>" in page
        assert "<tr><td>history</td><td>no transactions yet</td><td></td><td>150</td><td>NO_CREDIT_HISTORY</td></tr>" in page

    def test_the_review_queue_is_oldest_first_with_score_income_band_and_the_limit_the_policy_would_grant(
        self, admin_client, active_account
    ):
        older = request_limit(account_id=active_account.id, requested_limit=Decimal("23000.00"))
        decide_limit_request(request_id=older.id)
        other = onboard()
        newer = request_limit(account_id=other.id, requested_limit=Decimal("23000.00"))
        decide_limit_request(request_id=newer.id)
        queue = admin_client.get("/admin/analysis/limitrequest/?status__exact=manual_review")
        assert [r.id for r in queue.context["cl"].result_list] == [older.id, newer.id]
        page = queue.content.decode()
        assert "16000.00" in page and "3 (8000.00)" in page  # the policy's limit and the income band

    def test_the_account_shows_a_decision_waiting_for_review_apart_from_the_one_in_force(self, admin_client, active_account):
        limit_request = request_limit(account_id=active_account.id, requested_limit=Decimal("23000.00"))
        decide_limit_request(request_id=limit_request.id)
        page = admin_client.get(f"/admin/accounts/creditaccount/{active_account.id}/change/").content.decode()
        assert "waiting for an operator&#x27;s review" in page or "waiting for an operator's review" in page
        assert "approved (score 800" in page  # the decision in force is still the onboarding one

    def test_the_transaction_page_has_a_reverse_button_that_shows_what_it_reverses_and_asks(
        self, admin_client, admin_user, active_account
    ):
        spend(active_account, "42.00")
        posted = LedgerTransaction.objects.get()
        page = admin_client.get(f"/admin/ledger/ledgertransaction/{posted.id}/change/").content.decode()
        button = f"/admin/ledger/ledgertransaction/{posted.id}/ask-reversal/"
        assert button in page and "Reverse…" in page
        confirm = admin_client.get(button).content.decode()
        assert "Reverse this transaction?" in confirm and "purchase of 42.00" in confirm
        assert not ApprovalRequest.objects.exists()
        response = admin_client.post(button, {"confirmed": "yes", "reason": "charged twice"}, follow=True)
        asked = ApprovalRequest.objects.get()
        assert response.redirect_chain[-1][0] == f"/admin/approvals/approvalrequest/{asked.id}/change/"
        assert (asked.kind, asked.payload["transaction_id"], asked.requested_by) == ("reversal", str(posted.id), admin_user)
        assert not LedgerTransaction.objects.filter(reverses=posted).exists()  # waits for a second operator
