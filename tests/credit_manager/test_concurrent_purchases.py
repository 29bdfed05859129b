"""Purchases on one account are serialised in the database: 50 at once against room for exactly k post
exactly k, decline the rest, and leave a balance and a ledger that agree."""

import threading
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from support import onboard, post, purchase, spend

from accounts.models import CreditAccount
from ledger.models import LedgerTransaction

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 50


def test_fifty_concurrent_purchases_post_exactly_the_k_that_fit(api_client, capsys):
    account = onboard(age=40, income="8000.00")  # limit 16000.00
    spend(account, "15370.00")  # room for exactly 21 purchases of 30.00 (630.00)
    room, amount, k = Decimal("630.00"), Decimal("30.00"), 21
    client = api_client("credit:write")
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def buy(index: int) -> None:
        try:
            barrier.wait()
            results[index] = post(client, account, purchase(str(amount)), key=f"buy-{index}-{uuid.uuid4().hex}")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert room == k * amount
    outcomes = Counter((r.status_code, r.json().get("code")) for r in results)
    assert outcomes == {(201, None): k, (409, "INSUFFICIENT_CREDIT"): THREADS - k}
    account = CreditAccount.objects.get(id=account.id)
    assert account.balance == Decimal("16000.00") and account.available == 0
    assert account.version == 2 + 1 + k  # each posting is exactly one new version
    posted = sorted(r.json()["balance_after"] for r in results if r.status_code == 201)
    assert posted == [f"{Decimal('15370.00') + amount * n:.2f}" for n in range(1, k + 1)]  # no two saw the same balance
    assert LedgerTransaction.objects.filter(account=account, type="purchase").count() == k + 1

    call_command("verify_ledger")
    assert capsys.readouterr().out.startswith("ledger ok:")
