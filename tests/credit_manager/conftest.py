"""Fixtures of the credit_manager suites."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from support import onboard

from accounts.models import CreditAccount
from analysis.models import CreditPolicy

HOLD_RULES = importlib.import_module("authorizations.migrations.0002_default_hold_rules")


@pytest.fixture(autouse=True)
def _default_policy(request):
    """Transactional tests truncate every table, what the migrations created included: the credit policy
    version 1 and the initial hold rules."""
    if request.node.get_closest_marker("django_db"):
        CreditPolicy.objects.get_or_create(version=1)
        HOLD_RULES.create_rules(django_apps, None)


@pytest.fixture
def active_account(db) -> CreditAccount:
    """An approved customer: 40 years old, income 8000.00, limit 16000.00 under the default policy."""
    account = onboard()
    assert account.status == "active" and account.credit_limit == Decimal("16000.00")
    return account
