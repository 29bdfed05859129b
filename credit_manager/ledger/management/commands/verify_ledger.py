"""``manage.py verify_ledger``: prove every account balance equals the sum of its ledger lines."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ledger.selectors import check_ledger


class Command(BaseCommand):
    help = "Check every account's balance against its ledger lines and that all lines sum to zero; exit 1 on any mismatch."

    def handle(self, *args, **options) -> None:
        check = check_ledger()
        summary = f"{check.accounts} accounts, {check.transactions} transactions, all lines sum to {check.total:.2f}"
        if check.ok:
            self.stdout.write(f"ledger ok: {summary}")
            return
        problems = [f"account {m.account_id} balance {m.balance:.2f} != lines {m.lines:.2f}" for m in check.mismatches]
        problems += [f"transaction {t} lines do not sum to zero" for t in check.unbalanced_transactions]
        if check.total != 0:
            problems.append(f"all lines sum to {check.total:.2f}, not zero")
        self.stderr.write(f"ledger MISMATCH: {summary}; " + "; ".join(problems))
        raise SystemExit(1)
