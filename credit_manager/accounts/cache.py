"""The account summary cache: ``GET /accounts/{id}`` is hot; every change invalidates it after commit.

It keeps the endpoint's answer (and until when it holds: the next hold's expiry), not the row.
"""

from common.cache import TokenCache

_accounts = TokenCache("account")

cached_account = _accounts.get_or_load
forget_account_on_commit = _accounts.forget_on_commit
