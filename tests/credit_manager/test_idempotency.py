"""Idempotency keys on POST /transactions (Stripe's semantics): the same key and body replay the first
response, another body with the same key is refused, a concurrent duplicate waits and replays; the
key is written with its answer, so a duplicate's run is rolled back, writes and all."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from support import onboard, post, purchase

from accounts.models import CreditAccount
from common.apikeys.services import Caller
from common.idempotency.models import IdempotencyRecord
from common.idempotency.services import purge_expired, respond_idempotently
from common.testing import last_message_received
from ledger.models import LedgerTransaction


@pytest.fixture
def client(api_client):
    return api_client("credit:read", "credit:write")


@pytest.mark.django_db
class TestReplay:
    def test_the_same_key_and_body_get_the_first_response_again_and_post_once(self, client, active_account):
        first = post(client, active_account, purchase("10.00"), key="order-42")
        second = post(client, active_account, purchase("10.00"), key="order-42")
        assert (first.status_code, second.status_code) == (201, 201)
        assert second.content == first.content and second["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert LedgerTransaction.objects.count() == 1

    def test_key_order_and_spacing_of_the_body_do_not_matter(self, client, active_account):
        url = f"/api/v1/accounts/{active_account.id}/transactions"
        headers = {"Idempotency-Key": "k"}
        first = client.post(url, '{"type": "purchase", "amount": "10.00"}', content_type="application/json", headers=headers)
        second = client.post(url, '{"amount":"10.00","type":"purchase"}', content_type="application/json", headers=headers)
        assert second.content == first.content and LedgerTransaction.objects.count() == 1

    def test_the_same_key_with_another_body_is_refused(self, client, active_account):
        post(client, active_account, purchase("10.00"), key="order-42")
        response = post(client, active_account, purchase("11.00"), key="order-42")
        assert response.status_code == 409 and response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert LedgerTransaction.objects.count() == 1

    def test_a_decline_is_replayed_too_even_once_the_account_has_room(self, client, active_account):
        declined = post(client, active_account, purchase("16000.01"), key="big")
        assert declined.status_code == 409 and declined.json()["code"] == "INSUFFICIENT_CREDIT"
        from analysis.services import reanalyse_after_income_change

        reanalyse_after_income_change(user_id=active_account.user_id, monthly_income=Decimal("9500.00"))
        replay = post(client, active_account, purchase("16000.01"), key="big")
        assert (replay.status_code, replay.content, replay["Idempotent-Replayed"]) == (409, declined.content, "true")
        assert not LedgerTransaction.objects.exists()

    def test_keys_belong_to_one_api_key_and_one_endpoint(self, api_client, active_account):
        other_account = onboard()
        one, two = api_client("credit:write"), api_client("credit:write")
        assert post(one, active_account, purchase("1.00"), key="same").status_code == 201
        assert post(two, active_account, purchase("1.00"), key="same").status_code == 201
        assert post(one, other_account, purchase("1.00"), key="same").status_code == 201
        assert LedgerTransaction.objects.count() == 3


@pytest.mark.django_db
class TestKeyRules:
    def test_a_transaction_without_a_key_is_refused(self, client, active_account):
        response = client.post(
            f"/api/v1/accounts/{active_account.id}/transactions", purchase("1.00"), content_type="application/json"
        )
        assert response.status_code == 422 and response.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"
        assert not LedgerTransaction.objects.exists()

    @pytest.mark.parametrize("key", ["k" * 256, "tab\there", "é"])
    def test_a_key_longer_than_255_or_not_printable_ascii_is_refused(self, client, active_account, key):
        response = post(client, active_account, purchase("1.00"), key=key)
        assert response.status_code == 422 and response.json()["code"] == "IDEMPOTENCY_KEY_INVALID"

    def test_a_key_of_255_characters_is_fine(self, client, active_account):
        assert post(client, active_account, purchase("1.00"), key="k" * 255).status_code == 201

    def test_an_invalid_body_does_not_use_up_the_key(self, client, active_account):
        assert post(client, active_account, purchase("-1"), key="k").status_code == 422
        assert post(client, active_account, purchase("1.00"), key="k").status_code == 201

    def test_a_server_error_leaves_no_record_so_the_client_may_retry(self, active_account):
        request = RequestFactory().post("/somewhere", {"a": 1}, content_type="application/json")
        request.auth = Caller(key_id=1, name="test", scopes=frozenset())

        def crash():
            CreditAccount.objects.filter(id=active_account.id).update(currency="XXX")
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            respond_idempotently(request, key="k", operation=crash)
        assert not IdempotencyRecord.objects.exists()
        assert CreditAccount.objects.get(id=active_account.id).currency == "BRL"
        assert respond_idempotently(request, key="k", operation=lambda: (200, {"ok": True})).status_code == 200

    def test_a_retry_whose_run_fails_still_gets_the_keys_answer_and_its_writes_go(self, active_account):
        request = RequestFactory().post("/somewhere", {"a": 1}, content_type="application/json")
        request.auth = Caller(key_id=1, name="test", scopes=frozenset())
        first = respond_idempotently(request, key="k", operation=lambda: (201, {"id": 1}))

        def crash():
            CreditAccount.objects.filter(id=active_account.id).update(currency="XXX")
            raise RuntimeError("boom")

        retry = respond_idempotently(request, key="k", operation=crash)
        assert (retry.status_code, retry.content, retry["Idempotent-Replayed"]) == (201, first.content, "true")
        assert CreditAccount.objects.get(id=active_account.id).currency == "BRL"

    def test_optional_keys_replay_limit_requests_too(self, client, active_account):
        url = f"/api/v1/accounts/{active_account.id}/limit-requests"
        first = client.post(
            url, {"requested_limit": "17000.00"}, content_type="application/json", headers={"Idempotency-Key": "r1"}
        )
        second = client.post(
            url, {"requested_limit": "17000.00"}, content_type="application/json", headers={"Idempotency-Key": "r1"}
        )
        assert first.status_code == second.status_code == 202 and second.content == first.content


@pytest.mark.django_db
class TestRetention:
    def test_keys_older_than_the_retention_are_purged(self, client, active_account, settings):
        settings.IDEMPOTENCY_KEY_RETENTION_HOURS = 48
        post(client, active_account, purchase("1.00"), key="old")
        post(client, active_account, purchase("1.00"), key="new")
        IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=49))
        assert purge_expired() == 1
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def sent_at_once(count: int, send) -> list:
    """The responses of ``count`` threads (each with its own database connection) calling ``send`` together."""
    barrier, responses = threading.Barrier(count), []

    def one():
        try:
            barrier.wait()
            responses.append(send())
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


@pytest.mark.django_db(transaction=True)
def test_a_request_keeps_its_key_in_the_message_that_commits_it_and_a_retry_replays_it(api_client):
    """A round trip less per idempotent request: the answer's insert carries the transaction's COMMIT."""
    account, client = onboard(), api_client("credit:write")
    first = post(client, account, purchase("10.00"), key="order-7")
    assert last_message_received(connection.connection.get_backend_pid()).rstrip().endswith("; COMMIT")
    again = post(client, account, purchase("10.00"), key="order-7")
    assert (first.status_code, again.status_code, again.content) == (201, 201, first.content)
    assert again.has_header("Idempotent-Replayed") and not first.has_header("Idempotent-Replayed")
    assert LedgerTransaction.objects.count() == 1 and CreditAccount.objects.get().balance == Decimal("10.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_post_once_and_all_get_the_same_answer(api_client):
    account = onboard()
    client = api_client("credit:write")
    responses = sent_at_once(8, lambda: post(client, account, purchase("10.00"), key="same-click"))
    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.content for r in responses}) == 1
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == 7
    assert LedgerTransaction.objects.count() == 1 and CreditAccount.objects.get().balance == Decimal("10.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_of_a_refused_request_all_get_the_one_refusal(api_client):
    """A refusal rolls its transaction back and is then kept under the key: a duplicate that kept an
    answer under the key meanwhile answers for it, and every request gets that answer."""
    account = onboard()
    client = api_client("credit:write")
    responses = sent_at_once(6, lambda: post(client, account, purchase("16000.01"), key="too-much"))
    assert [r.status_code for r in responses] == [409] * 6
    assert len({r.content for r in responses}) == 1 and b"INSUFFICIENT_CREDIT" in responses[0].content
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == 5
    assert IdempotencyRecord.objects.get(key="too-much").response_status == 409


@pytest.mark.django_db
def test_the_changes_of_an_idempotent_request_take_no_savepoint_of_their_own(client, active_account):
    """The first error ends the request's transaction, so a purchase's changes need no savepoints (two
    round trips each); the one counted here is the request's own, inside the test's transaction."""
    post(client, active_account, purchase("1.00"))
    with CaptureQueriesContext(connection) as captured:
        assert post(client, active_account, purchase("10.00")).status_code == 201
        assert post(client, active_account, purchase("99999.00")).status_code == 409
    savepoints = [query["sql"] for query in captured.captured_queries if query["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 3  # the purchase's block, the refusal's block, and the refusal kept after it
