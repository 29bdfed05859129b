"""Authorizations of one account are decided one at a time in the database: 50 at once against room
for exactly k approve exactly k, and a capture racing a reversal of the same authorization never
posts or releases the same money twice."""

import threading
import time
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from support import change_authorization, onboard, request_authorization, spend

from accounts.models import CreditAccount
from authorizations.models import Authorization
from authorizations.services import Merchant, authorize
from common.audit.models import AuditEntry
from ledger.models import LedgerTransaction

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*calls) -> list:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_fifty_concurrent_authorizations_approve_exactly_the_k_that_fit(api_client, capsys):
    account = onboard(age=40, income="8000.00")  # limit 16000.00
    spend(account, "15370.00")  # room for exactly 21 holds of 30.00
    k, threads = 21, 50
    client = api_client("credit:write")
    results = at_once(*[lambda: request_authorization(client, account, "30.00") for _ in range(threads)])

    outcomes = Counter((r.status_code, r.json()["status"], r.json()["decision"]["reason_code"]) for r in results)
    assert outcomes == {(201, "pending", None): k, (201, "declined", "INSUFFICIENT_CREDIT"): threads - k}
    account = CreditAccount.objects.get(id=account.id)
    assert (account.held, account.available) == (Decimal("630.00"), 0)
    assert account.version == 2 + 1 + k  # each hold is exactly one new version
    availability = sorted(r.json()["account"]["available"] for r in results if r.json()["status"] == "pending")
    assert availability == sorted(f"{Decimal('30.00') * n:.2f}" for n in range(k))  # no two saw the same credit
    call_command("verify_ledger")
    assert capsys.readouterr().out.startswith("ledger ok:")
    call_command("verify_audit")  # the account's 50 audit entries, written at once, still form one chain
    assert capsys.readouterr().out.startswith("audit ok:")
    assert AuditEntry.objects.filter(subject_id=account.id, actor_type="api_key").count() == threads


def test_a_full_capture_racing_a_full_reversal_leaves_exactly_one_of_them(api_client, capsys):
    account = onboard()
    client = api_client("credit:write")
    authorizations = [request_authorization(client, account, "100.00").json()["id"] for _ in range(8)]
    calls = []
    for authorization_id in authorizations:
        calls.append(lambda a=authorization_id: change_authorization(client, a, "captures", {"amount": "100.00"}))
        calls.append(lambda a=authorization_id: change_authorization(client, a, "reversals"))
    results = at_once(*calls)

    for index, authorization_id in enumerate(authorizations):
        capture, reversal = results[2 * index], results[2 * index + 1]
        assert sorted([capture.status_code, reversal.status_code]) == [201, 409]
        loser = capture if capture.status_code == 409 else reversal
        assert loser.json()["code"] == "AUTHORIZATION_FINAL"
        ended = Authorization.objects.get(id=authorization_id)
        assert ended.status == ("closed" if capture.status_code == 201 else "reversed")
        assert ended.captured_amount + ended.released_amount == Decimal("100.00")
    captured = sum(r.status_code == 201 for r in results[0::2])
    account = CreditAccount.objects.get(id=account.id)
    assert (account.balance, account.held, account.holds) == (Decimal(100) * captured, 0, {})
    assert LedgerTransaction.objects.filter(account=account, type="purchase").count() == captured
    call_command("verify_ledger")
    assert capsys.readouterr().out.startswith("ledger ok:")


def test_a_partial_capture_racing_a_partial_reversal_never_uses_the_same_money_twice(api_client, capsys):
    account = onboard()
    client = api_client("credit:write")
    authorizations = [request_authorization(client, account, "100.00").json()["id"] for _ in range(8)]
    calls = []
    for authorization_id in authorizations:
        calls.append(lambda a=authorization_id: change_authorization(client, a, "captures", {"amount": "60.00", "final": False}))
        calls.append(lambda a=authorization_id: change_authorization(client, a, "reversals", {"amount": "60.00"}))
    results = at_once(*calls)

    for index, authorization_id in enumerate(authorizations):
        capture, reversal = results[2 * index], results[2 * index + 1]
        codes = sorted([(capture.status_code, capture.json().get("code")), (reversal.status_code, reversal.json().get("code"))])
        assert codes in ([(201, None), (409, "CAPTURE_EXCEEDS_AUTHORIZATION")], [(201, None), (409, "REVERSAL_EXCEEDS_HOLD")])
        ended = Authorization.objects.get(id=authorization_id)
        assert (ended.held_amount, ended.captured_amount + ended.released_amount) == (Decimal("40.00"), Decimal("60.00"))
    account = CreditAccount.objects.get(id=account.id)
    captured = sum(r.status_code == 201 for r in results[0::2])
    assert (account.balance, account.held) == (Decimal(60) * captured, Decimal(40) * len(authorizations))
    call_command("verify_ledger")
    assert capsys.readouterr().out.startswith("ledger ok:")


def test_a_network_retry_racing_its_first_request_holds_once(api_client):
    account = onboard()
    client = api_client("credit:write")
    reference = uuid.uuid4().hex
    results = at_once(*[lambda: request_authorization(client, account, "100.00", reference=reference) for _ in range(6)])
    assert sorted(r.status_code for r in results) == [200] * 5 + [201]
    assert len({r.json()["id"] for r in results}) == 1
    assert CreditAccount.objects.get(id=account.id).held == Decimal("100.00")


def test_a_network_retry_that_waited_for_the_account_finds_the_request_committed_meanwhile():
    """The retry's lookup reads in the same round trip as the account's lock, yet sees the first request,
    committed while the retry waited for that lock (a statement reads other tables as they were when it
    began: the lookup is a statement of its own, after the one that waits)."""
    account = onboard()
    merchant = Merchant(name="Shop", mcc="5411", country="BR")
    first_holds_the_lock = threading.Event()
    retry_waits = threading.Event()
    outcome = {}

    def first() -> None:
        try:
            with transaction.atomic():
                outcome["first"] = authorize(
                    account_id=account.id, amount=Decimal("10.00"), merchant=merchant, network_reference="n-1"
                )
                first_holds_the_lock.set()
                assert retry_waits.wait(10)
        finally:
            connection.close()

    def retry() -> None:
        try:
            assert first_holds_the_lock.wait(10)
            outcome["retry"] = authorize(
                account_id=account.id, amount=Decimal("10.00"), merchant=merchant, network_reference="n-1"
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=retry)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while not _a_statement_waits_for_a_lock():
        assert time.monotonic() < deadline, "the retry never waited for the account's lock"
        time.sleep(0.01)
    retry_waits.set()
    for thread in threads:
        thread.join()
    (first_authorization, first_is_new), (retried, retry_is_new) = outcome["first"], outcome["retry"]
    assert (first_is_new, retry_is_new, retried.id) == (True, False, first_authorization.id)
    assert CreditAccount.objects.get(id=account.id).held == Decimal("10.00")


def _a_statement_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0
