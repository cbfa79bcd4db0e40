"""The retry schedule (Standard Webhooks style): the first attempt at once, then one retry after
each listed wait; after the last, the delivery is dead (a dead letter that can be replayed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

# API.md: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (10 attempts over about 3 days).
DEFAULT_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,50400,72000,86400"


def parse_retry_schedule(text: str) -> list[timedelta]:
    """Comma-separated seconds (fractions allowed, for tests), e.g. "5,300,1800"."""
    try:
        seconds = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError("retry schedule must be comma-separated seconds, e.g. 5,300,1800") from None
    if not seconds or any(value <= 0 for value in seconds):
        raise ValueError("retry schedule needs at least one positive number of seconds")
    return [timedelta(seconds=value) for value in seconds]


def max_attempts(retry_schedule: Sequence[timedelta]) -> int:
    """The first attempt plus one retry per schedule entry."""
    return len(retry_schedule) + 1


def retry_delay(retry_schedule: Sequence[timedelta], failed_attempts: int) -> timedelta | None:
    """The wait after the `failed_attempts`-th failed attempt of a run, or None after the last."""
    index = failed_attempts - 1
    return retry_schedule[index] if 0 <= index < len(retry_schedule) else None
