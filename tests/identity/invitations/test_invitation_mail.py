"""Invitation mail goes through the platform's mail outbox (the bug it fixes: the mail used to be
sent inside the transaction creating the invitation, so a mail server hiccup refused the invitation
with 503 and rolled everything back, and a commit failing after the send left a dead link in
someone's inbox). Real PostgreSQL, real local SMTP server."""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.infra import free_port
from crm_identity.invitations.service import MAIL_CATEGORY, Invitations
from crm_identity.tables import invitations as invitations_table
from crm_platform.db import control_session, tenant_session
from crm_platform.mail import Mailer, MailSender, SmtpTransport
from crm_platform.tables import mail_outbox
from tests.identity.users.test_user_events import admin
from tests.mail import received, wait_for_mail
from tests.support import SmtpServer

PUBLIC_URL = "http://crm.test"


def sink(server: SmtpServer) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", server.port, security="none", timeout=5)


async def send_all(sender: MailSender, tenant: uuid.UUID) -> None:
    """Runs the sender until none of this tenant's mail is due any more."""
    for _ in range(50):
        await sender.send_batch()
        async with control_session(sender.engine) as session:
            due = (await session.execute(sa.select(sa.func.count()).where(
                mail_outbox.c.tenant_id == tenant, mail_outbox.c.status == "pending",
                mail_outbox.c.next_attempt_at <= sa.func.now()))).scalar_one()
        if not due:
            return
    raise AssertionError("mail still due")


async def test_mail_server_away_keeps_the_invitation_and_delivers_later(
    users_engine: AsyncEngine, tenant_id: uuid.UUID, smtp_server: SmtpServer
) -> None:
    caller = await admin(users_engine, tenant_id)
    invitations = Invitations(users_engine, Mailer("no-reply@crm.test"), PUBLIC_URL)
    address = f"wang.{secrets.token_hex(3)}@example.cn"
    async with tenant_session(users_engine, tenant_id) as session:  # before: 503 mail_unavailable, nothing kept
        created = await invitations.invite(session, caller, email=address, display_name="王芳",
                                           roles_wanted=["sales_rep"], team_id="")
    away = MailSender(users_engine, SmtpTransport("127.0.0.1", free_port(), security="none", timeout=2),
                      retry_schedule=[timedelta(minutes=1)])
    await send_all(away, tenant_id)
    async with control_session(users_engine) as session:
        [queued] = (await session.execute(sa.select(mail_outbox).where(mail_outbox.c.tenant_id == tenant_id))).all()
    assert (queued.status, queued.attempts, queued.category) == ("pending", 1, MAIL_CATEGORY)
    assert received(smtp_server.maildir, address) == []

    async with control_session(users_engine) as session:  # a minute later the retry is due; the server is back
        await session.execute(sa.update(mail_outbox).where(mail_outbox.c.id == queued.id)
                              .values(next_attempt_at=sa.func.now()))
    await send_all(MailSender(users_engine, sink(smtp_server)), tenant_id)
    [message] = await asyncio.to_thread(wait_for_mail, smtp_server.maildir, address)
    match = re.search(re.escape(PUBLIC_URL) + r"/invite/(\S+)", message.text)
    assert match, message.text
    preview = await invitations.preview(match.group(1))
    assert (preview.state, preview.email) == ("pending", address)  # the link in the mail works
    assert created.email == address


async def test_an_invitation_that_does_not_commit_sends_no_mail(
    users_engine: AsyncEngine, tenant_id: uuid.UUID, smtp_server: SmtpServer
) -> None:
    caller = await admin(users_engine, tenant_id)
    invitations = Invitations(users_engine, Mailer("no-reply@crm.test"), PUBLIC_URL)
    address = f"li.{secrets.token_hex(3)}@example.cn"
    with pytest.raises(RuntimeError):
        async with tenant_session(users_engine, tenant_id) as session:
            await invitations.invite(session, caller, email=address, display_name="李雷",
                                     roles_wanted=["sales_rep"], team_id="")
            raise RuntimeError("the commit fails after the invitation was written")
    await send_all(MailSender(users_engine, sink(smtp_server)), tenant_id)
    assert received(smtp_server.maildir, address) == []  # before: a mail with a dead link
    async with tenant_session(users_engine, tenant_id) as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(invitations_table))).scalar_one() == 0
