"""The local mailer writes the whole message to its directory but never logs the link: it carries
a one-time invitation token, and logs are read by more people than mailboxes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from crm_identity.mail import LocalMailer, Mail

TOKEN = "0123abcd.secret-one-time-token"


async def test_local_mailer_writes_the_link_but_never_logs_it(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    mailer = LocalMailer(tmp_path, "noreply@example.com")
    link = f"https://crm.example/invite/{TOKEN}"
    with caplog.at_level(logging.DEBUG, logger="crm_identity.mail"):
        await mailer.send(Mail(to="new@example.com", subject="邀请", text=f"Accept: {link}", link=link))
    [written] = await asyncio.to_thread(lambda: list(tmp_path.glob("*.eml")))
    assert TOKEN in await asyncio.to_thread(written.read_text)
    assert caplog.records, "the mailer says where it wrote the message"
    for record in caplog.records:
        assert TOKEN not in record.getMessage() and TOKEN not in str(record.__dict__)
