"""Fixtures of the credit_manager suites."""

from decimal import Decimal

import pytest
from support import onboard

from accounts.models import CreditAccount
from analysis.models import CreditPolicy


@pytest.fixture(autouse=True)
def _default_policy(request):
    """Transactional tests truncate every table, the policy version 1 the migration created included."""
    if request.node.get_closest_marker("django_db"):
        CreditPolicy.objects.get_or_create(version=1)


@pytest.fixture
def active_account(db) -> CreditAccount:
    """An approved customer: 40 years old, income 8000.00, limit 16000.00 under the default policy."""
    account = onboard()
    assert account.status == "active" and account.credit_limit == Decimal("16000.00")
    return account
