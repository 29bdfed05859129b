"""``manage.py verify_ledger`` proves every balance equals the sum of its lines and all lines sum to zero,
and every account's held amount the sum of its pending card authorizations, and names every account
whose running figures do not."""

import uuid
from decimal import Decimal

import pytest
from support import onboard, spend

from accounts.models import CreditAccount
from authorizations.models import Authorization
from authorizations.services import Merchant, authorize, reverse
from common.testing import run_check
from ledger.services import post_transaction, reverse_transaction

pytestmark = pytest.mark.django_db


def verify(capsys) -> tuple[int, str]:
    return run_check("verify_ledger", capsys)


def test_a_sound_ledger_passes(capsys):
    first, second = onboard(), onboard()
    spend(first, "120.00")
    payment = post_transaction(account_id=first.id, type="payment", amount=Decimal("20.00"))
    reverse_transaction(transaction_id=payment.id, reason="bounced")
    spend(second, "5.00")
    code, output = verify(capsys)
    assert code == 0
    assert output == "ledger ok: 2 accounts, 4 transactions, all lines sum to 0.00, 0 accounts holding credit\n"


def test_a_hand_corrupted_balance_is_caught_and_its_account_named(capsys):
    healthy, corrupted, also_corrupted = onboard(), onboard(), onboard()
    for account in (healthy, corrupted, also_corrupted):
        spend(account, "100.00")
    CreditAccount.objects.filter(id=corrupted.id).update(balance=Decimal("90.00"))
    CreditAccount.objects.filter(id=also_corrupted.id).update(balance=Decimal("0.00"))
    code, output = verify(capsys)
    assert code == 1
    assert output.startswith("ledger MISMATCH: 3 accounts, 3 transactions, all lines sum to 0.00, 0 accounts holding credit; ")
    assert f"account {corrupted.id} balance 90.00 != lines 100.00" in output
    assert f"account {also_corrupted.id} balance 0.00 != lines 100.00" in output
    assert str(healthy.id) not in output
    assert output.count("\n") == 1  # one line


def test_a_line_without_its_counterpart_is_caught(capsys):
    from ledger.models import LedgerEntry

    account = onboard()
    spend(account, "10.00")
    posted = account.transactions.get()
    LedgerEntry.objects.create(
        transaction=posted, ledger_account="customer_receivable", credit_account=account, amount=Decimal("1.00")
    )
    code, output = verify(capsys)
    assert code == 1
    assert f"account {account.id} balance 10.00 != lines 11.00" in output
    assert f"transaction {posted.id} lines do not sum to zero" in output
    assert "all lines sum to 1.00, not zero" in output


class TestHolds:
    """Every account's ``held`` (and the holds it keeps with their expiry) equals what its pending
    authorizations hold."""

    def test_accounts_holding_credit_pass_when_their_holds_agree(self, capsys):
        account = onboard()
        hold(account, "100.00")
        reversed_one = hold(account, "40.00")
        reverse(authorization_id=reversed_one.id)
        code, output = verify(capsys)
        assert code == 0, output
        assert output.endswith("all lines sum to 0.00, 1 accounts holding credit\n")

    def test_a_corrupted_held_amount_is_caught_and_its_account_named(self, capsys):
        healthy, corrupted = onboard(), onboard()
        hold(healthy, "100.00")
        hold(corrupted, "100.00")
        CreditAccount.objects.filter(id=corrupted.id).update(held=Decimal("50.00"))
        code, output = verify(capsys)
        assert code == 1
        assert f"account {corrupted.id} held 50.00 != pending holds 100.00" in output
        assert str(healthy.id) not in output

    def test_a_hold_left_on_the_account_after_its_authorization_ended_is_caught(self, capsys):
        account = onboard()
        authorization = hold(account, "100.00")
        Authorization.objects.filter(id=authorization.id).update(status="reversed", held_amount=0, released_amount=100)
        code, output = verify(capsys)
        assert code == 1
        assert f"account {account.id} held 100.00 != pending holds 0.00" in output


def hold(account: CreditAccount, amount: str) -> Authorization:
    authorization, _ = authorize(
        account_id=account.id,
        amount=Decimal(amount),
        merchant=Merchant(name="Shop", mcc="5411"),
        network_reference=uuid.uuid4().hex,
    )
    return authorization
