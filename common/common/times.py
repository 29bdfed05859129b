"""Points in time as operators give them on a command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime


def time_or_hours_ago(value: str) -> datetime:
    """``2026-01-01T00:00:00Z`` (UTC if no offset) or ``24h`` (hours ago); ValueError otherwise."""
    if value.endswith("h") and value[:-1].isdigit():
        return timezone.now() - timedelta(hours=int(value[:-1]))
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a time: {value!r} (give e.g. 2026-01-01T00:00:00Z or 24h)")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)
