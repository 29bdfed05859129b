"""``manage.py verify_ledger``: prove every account's balance equals the sum of its ledger lines, and its
``held`` the sum of its pending card authorizations' holds."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from authorizations.selectors import check_holds
from ledger.selectors import check_ledger


class Command(BaseCommand):
    help = (
        "Check every account's balance against its ledger lines, that all lines sum to zero, and every account's "
        "held amount against its pending authorizations; exit 1 on any mismatch."
    )

    def handle(self, *args, **options) -> None:
        check = check_ledger()
        holding, hold_mismatches = check_holds()
        summary = (
            f"{check.accounts} accounts, {check.transactions} transactions, all lines sum to {check.total:.2f}, "
            f"{holding} accounts holding credit"
        )
        if check.ok and not hold_mismatches:
            self.stdout.write(f"ledger ok: {summary}")
            return
        problems = [f"account {m.account_id} balance {m.balance:.2f} != lines {m.lines:.2f}" for m in check.mismatches]
        problems += [f"transaction {t} lines do not sum to zero" for t in check.unbalanced_transactions]
        if check.total != 0:
            problems.append(f"all lines sum to {check.total:.2f}, not zero")
        problems += [f"account {m.account_id} held {m.held:.2f} != pending holds {m.pending:.2f}" for m in hold_mismatches]
        self.stderr.write(f"ledger MISMATCH: {summary}; " + "; ".join(problems))
        raise SystemExit(1)
