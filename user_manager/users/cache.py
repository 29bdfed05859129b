"""The customer cache: ``GET /users/{id}`` is hot; every change invalidates it after commit."""

from common.cache import TokenCache

_customers = TokenCache("customer")

cached_customer = _customers.get_or_load
forget_customer_on_commit = _customers.forget_on_commit
