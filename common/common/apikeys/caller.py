"""Who is calling the API, as every cache of accepted keys holds it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Caller:
    """The key's id, name and scopes (what the request may do), and when the key stops working (None: never)."""

    key_id: int
    name: str
    scopes: frozenset[str]
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        # Checked on every use, so a key cached anywhere stops working the moment it expires.
        return self.expires_at is not None and self.expires_at <= now
