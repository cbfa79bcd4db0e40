"""Timestamps as events carry them (RFC 3339 text) turned into aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_rfc3339(value: object) -> datetime | None:
    """An aware datetime (UTC when the text names no zone), or None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
