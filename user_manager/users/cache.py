"""The customer cache: ``GET /users/{id}`` is hot; every change invalidates it after commit.

It keeps the endpoint's answer (the customer's version and its JSON), not the row: a hit then
costs neither rebuilding a model nor rendering it.
"""

from common.cache import TokenCache

_customers = TokenCache("customer")

cached_customer = _customers.get_or_load
forget_customer_on_commit = _customers.forget_on_commit
