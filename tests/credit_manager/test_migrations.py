"""Migrations that move data keep it: accounts opened before a migration read the same after it."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0003_last_decision"), ("analysis", "0001_initial")]
AFTER = [("accounts", "0004_decisions_kept_on_the_account")]


@pytest.mark.django_db(transaction=True)
def test_an_account_keeps_its_decisions_when_they_stop_being_foreign_keys():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Account, Decision, Policy = (old.get_model(*name) for name in (("accounts", "CreditAccount"), ("analysis", "CreditDecision"), ("analysis", "CreditPolicy")))
    policy = Policy.objects.get_or_create(version=1)[0]
    account = Account.objects.create(user_id=uuid.uuid4(), birth_date=date(1990, 1, 1), monthly_income=Decimal("8000.00"))
    in_force, latest = (
        Decision.objects.create(
            account=account, policy=policy, trigger=trigger, outcome=outcome, score=score, breakdown={}, reason_codes=codes
        )
        for trigger, outcome, score, codes in (
            ("onboarding", "approved", 800, ["NO_CREDIT_HISTORY"]),
            ("limit_request", "denied", 700, ["LIMIT_ABOVE_POLICY"]),
        )
    )
    Account.objects.filter(id=account.id).update(current_decision=in_force, last_decision=latest)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from accounts.models import CreditAccount

    migrated = CreditAccount.objects.get(id=account.id)
    assert (migrated.current_decision.id, migrated.current_decision.outcome, migrated.current_decision.grants_credit) == (
        in_force.id,
        "approved",
        True,
    )
    assert (migrated.current_decision.policy_version, migrated.current_decision.reason_codes) == (1, ["NO_CREDIT_HISTORY"])
    assert (migrated.last_decision.id, migrated.last_decision.outcome, migrated.last_decision.grants_credit) == (
        latest.id,
        "denied",
        False,
    )
    assert migrated.last_decision.created_at == latest.created_at
