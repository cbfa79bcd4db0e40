"""Reading what the tests' real SMTP servers received (a Maildir written by crm_dev/smtp_sink.py),
waiting a bounded, short time for it to arrive."""

from __future__ import annotations

import time
from pathlib import Path

from crm_gateway.dev_mail import DevMailbox, ReceivedMail


def received(maildir: Path, to: str | None = None) -> list[ReceivedMail]:
    """Messages delivered so far (to `to`, if given), oldest first."""
    return list(reversed(DevMailbox(maildir).list(limit=100_000, to=to)))


def wait_for_mail(maildir: Path, to: str, *, count: int = 1, timeout: float = 15.0) -> list[ReceivedMail]:
    """The messages delivered to `to` (oldest first), once there are at least `count`."""
    deadline = time.monotonic() + timeout
    found: list[ReceivedMail] = []
    while time.monotonic() < deadline:
        found = received(maildir, to)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{count} mail(s) to {to} expected within {timeout}s, found {len(found)}")
