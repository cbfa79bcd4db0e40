"""The platform mailer against a real PostgreSQL and real local SMTP servers (aiosmtpd): messages
queued in the business transaction and sent after commit, never for a rolled-back one; retries while
the server is away, dead after a permanent refusal or the last retry; multipart messages with inline
images and attachments; STARTTLS, implicit TLS and login."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.infra import free_port
from crm_dev.smtp_sink import REFUSED_DOMAIN, SmtpSink
from crm_platform import mail
from crm_platform.db import control_session, tenant_session
from crm_platform.mail import Attachment, InlineImage, Mail, Mailer, MailSender, SmtpTransport
from crm_platform.tables import mail_outbox
from tests.mail import received, wait_for_mail
from tests.support import SmtpServer

from .conftest import metric

MAILER = Mailer("no-reply@crm.test", "客户管理")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def address() -> str:
    return f"user.{uuid.uuid4().hex[:8]}@example.cn"


def plain_transport(server: SmtpServer) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", server.port, security="none", timeout=5)


async def queue(engine: AsyncEngine, tenant: uuid.UUID, message: Mail, category: str = "test.mail") -> uuid.UUID:
    async with tenant_session(engine, tenant) as session:
        return await MAILER.queue(session, message, tenant_id=tenant, category=category)


async def outbox_row(engine: AsyncEngine, mail_id: uuid.UUID) -> sa.Row:  # type: ignore[type-arg]
    async with control_session(engine) as session:
        return (await session.execute(sa.select(mail_outbox).where(mail_outbox.c.id == mail_id))).one()


async def drain(sender: MailSender) -> None:
    while await sender.send_batch():
        pass


# -- the message ----------------------------------------------------------------------------------

def test_message_with_inline_chart_and_attachments() -> None:
    report = Mail(
        to=("a@example.cn", "b@example.cn"), subject="周报：客户增长", text="见附件。",
        html='<p>本周新增客户</p><img src="cid:chart-1@crm">',
        attachments=(Attachment("客户周报.xlsx", b"PK\x03\x04xlsx",
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                     Attachment("report.pdf", b"%PDF-1.7", "application/pdf")),
        inline_images=(InlineImage("chart-1@crm", PNG),),
    )
    message = mail.build_message(report, "no-reply@crm.test", "客户管理")
    structure = [part.get_content_type() for part in message.walk()]
    assert structure == ["multipart/mixed", "multipart/alternative", "text/plain", "multipart/related",
                         "text/html", "image/png",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/pdf"]
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<chart-1@crm>" and image.get_payload(decode=True) == PNG
    attachments = {p.get_filename(): p.get_payload(decode=True) for p in message.iter_attachments()}
    assert attachments == {"客户周报.xlsx": b"PK\x03\x04xlsx", "report.pdf": b"%PDF-1.7"}
    assert message["To"] == "a@example.cn, b@example.cn" and message["Subject"] == "周报：客户增长"
    assert "客户管理" in str(message["From"]) and message["Message-ID"].endswith("@crm.test>")

    with pytest.raises(ValueError, match="HTML"):
        mail.build_message(Mail(to="a@example.cn", subject="x", text="x", inline_images=(InlineImage("c", PNG),)),
                           "no-reply@crm.test")
    for bad in ("not-an-address", "a@example.cn\r\nBcc: victim@example.cn"):
        with pytest.raises(ValueError):
            mail.build_message(Mail(to=bad, subject="x", text="x"), "no-reply@crm.test")


# -- queued in the transaction, sent after commit ------------------------------------------------------

async def test_sent_after_commit_and_body_dropped(engine: AsyncEngine, tenant: uuid.UUID,
                                                  smtp_server: SmtpServer) -> None:
    to = address()
    mail_id = await queue(engine, tenant, Mail(to=to, subject="邀请", text="打开 https://crm.test/invite/secret",
                                               html="<p>邀请</p>"))
    assert nothing_received(smtp_server.maildir, to)  # queued, not sent: nothing runs yet
    reader = InMemoryMetricReader()
    sender = MailSender(engine, plain_transport(smtp_server), meter=MeterProvider([reader]).get_meter("t"))
    assert await sender.send_batch() == 1
    [got] = await asyncio.to_thread(wait_for_mail, smtp_server.maildir, to)
    row = await outbox_row(engine, mail_id)
    assert got.subject == "邀请" and "invite/secret" in got.text and got.html.strip() == "<p>邀请</p>"
    assert got.message_id == row.message_id and got.envelope_from == "no-reply@crm.test"
    assert (row.status, row.attempts, row.message, row.tenant_id) == ("sent", 1, None, tenant)
    assert sum(p.value for p in metric(reader, "crm.mail.sent")) == 1


async def test_a_report_with_attachments_arrives_whole(engine: AsyncEngine, tenant: uuid.UUID,
                                                      smtp_server: SmtpServer) -> None:
    """Large multipart mail through the outbox (a line-ending bug made SMTP servers refuse any
    message over ~1,000 bytes: smtplib sends bytes as they are)."""
    to = address()
    workbook = bytes(range(256)) * 800  # 200 KiB of binary
    await queue(engine, tenant, Mail(
        to=to, subject="客户周报", text="见附件。", html='<p>图表</p><img src="cid:chart@crm">',
        attachments=(Attachment("客户周报.xlsx", workbook,
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),),
        inline_images=(InlineImage("chart@crm", PNG),)), category="reporting.test")
    await drain(MailSender(engine, plain_transport(smtp_server)))
    [got] = await asyncio.to_thread(wait_for_mail, smtp_server.maildir, to)
    assert {p.get_filename(): p.get_payload(decode=True) for p in got.message.iter_attachments()} == {
        "客户周报.xlsx": workbook}
    assert [(p.content_id, p.content_type) for p in got.inline] == [("chart@crm", "image/png")]


async def test_rolled_back_change_sends_nothing(engine: AsyncEngine, tenant: uuid.UUID,
                                                smtp_server: SmtpServer) -> None:
    to = address()
    with pytest.raises(RuntimeError):
        async with tenant_session(engine, tenant) as session:
            await MAILER.queue(session, Mail(to=to, subject="x", text="x"), tenant_id=tenant, category="test")
            raise RuntimeError("the business change failed")
    await drain(MailSender(engine, plain_transport(smtp_server)))
    assert nothing_received(smtp_server.maildir, to)


def nothing_received(maildir: Path, to: str) -> bool:
    return received(maildir, to) == []


async def test_retried_while_the_server_is_away_then_delivered(engine: AsyncEngine, tenant: uuid.UUID,
                                                               smtp_server: SmtpServer) -> None:
    to = address()
    mail_id = await queue(engine, tenant, Mail(to=to, subject="retry", text="x"))
    away = SmtpTransport("127.0.0.1", free_port(), security="none", timeout=2)  # nothing listens there
    sender = MailSender(engine, away, retry_schedule=[timedelta(0)] * 3)
    await drain_one(sender, mail_id)
    row = await outbox_row(engine, mail_id)
    assert (row.status, row.attempts) == ("pending", 1) and "ConnectionRefused" in row.last_error
    async with control_session(engine) as session:
        assert mail_id in [r.id for r in await mail.failed(session, tenant_id=tenant)]
        assert (await mail.backlog(session)).pending >= 1
    sender.transport = plain_transport(smtp_server)  # the server is back
    await drain_one(sender, mail_id)
    assert (await outbox_row(engine, mail_id)).status == "sent"
    assert len(await asyncio.to_thread(wait_for_mail, smtp_server.maildir, to)) == 1


async def drain_one(sender: MailSender, mail_id: uuid.UUID) -> None:
    """Runs batches until this message's attempt was recorded (other tests' rows may be due too)."""
    before = (await outbox_row(sender.engine, mail_id)).attempts
    for _ in range(50):
        await sender.send_batch()
        if (await outbox_row(sender.engine, mail_id)).attempts > before:
            return
    raise AssertionError("the message was never attempted")


async def test_last_retry_and_permanent_refusal_are_dead(engine: AsyncEngine, tenant: uuid.UUID,
                                                         smtp_server: SmtpServer) -> None:
    refused = await queue(engine, tenant, Mail(to=f"nobody@{REFUSED_DOMAIN}", subject="bounce", text="x"))
    sender = MailSender(engine, plain_transport(smtp_server), retry_schedule=[timedelta(0)] * 5)
    await drain_one(sender, refused)
    row = await outbox_row(engine, refused)
    assert (row.status, row.attempts) == ("dead", 1) and "550" in row.last_error  # no retry for a 5xx

    gone = await queue(engine, tenant, Mail(to=address(), subject="never", text="x"))
    away = MailSender(engine, SmtpTransport("127.0.0.1", free_port(), security="none", timeout=2),
                      retry_schedule=[timedelta(0)])
    await drain_one(away, gone)
    await drain_one(away, gone)
    assert ((await outbox_row(engine, gone)).status, (await outbox_row(engine, gone)).attempts) == ("dead", 2)
    async with control_session(engine) as session:
        dead = {r.id: r.status for r in await mail.failed(session, tenant_id=tenant)}
    assert dead[refused] == "dead" and dead[gone] == "dead"


async def test_two_senders_send_each_message_once(engine: AsyncEngine, tenant: uuid.UUID,
                                                  smtp_server: SmtpServer) -> None:
    to = address()
    async with tenant_session(engine, tenant) as session:
        for index in range(30):
            await MAILER.queue(session, Mail(to=to, subject=f"n{index}", text="x"), tenant_id=tenant, category="t")
    first = MailSender(engine, plain_transport(smtp_server), batch_size=4)
    second = MailSender(engine, plain_transport(smtp_server), batch_size=4)
    await asyncio.gather(drain(first), drain(second))
    got = await asyncio.to_thread(wait_for_mail, smtp_server.maildir, to, count=30)
    assert sorted(m.subject for m in got) == sorted(f"n{i}" for i in range(30))


async def test_sent_rows_are_purged_after_retention(engine: AsyncEngine, tenant: uuid.UUID,
                                                    smtp_server: SmtpServer) -> None:
    mail_id = await queue(engine, tenant, Mail(to=address(), subject="old", text="x"))
    sender = MailSender(engine, plain_transport(smtp_server), retention=timedelta(days=30))
    await drain_one(sender, mail_id)
    async with control_session(engine) as session:
        await session.execute(sa.update(mail_outbox).where(mail_outbox.c.id == mail_id)
                              .values(updated_at=sa.func.now() - timedelta(days=31)))
    assert await sender.purge() >= 1
    async with control_session(engine) as session:
        assert (await session.execute(sa.select(mail_outbox.c.id).where(mail_outbox.c.id == mail_id))).first() is None


# -- TLS and login ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ssl.SSLContext, Path]]:
    """A self-signed certificate for 127.0.0.1: the server's TLS context and the CA file clients trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crm test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    yield context, cert_file


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "implicit-tls"])
async def test_tls_and_login(implicit_tls: bool, certificate: tuple[ssl.SSLContext, Path], tmp_path: Path) -> None:
    context, ca_file = certificate
    sink = SmtpSink(tmp_path / "mail", free_port(), tls=context, implicit_tls=implicit_tls,
                    login=("crm", "relay-secret"))
    await asyncio.to_thread(sink.start)
    try:
        security = "ssl" if implicit_tls else "starttls"
        message = mail.build_message(Mail(to="tls@example.cn", subject="加密", text="x"), "no-reply@crm.test")
        envelope = mail.Envelope("no-reply@crm.test", ["tls@example.cn"], mail.wire_bytes(message))
        good = SmtpTransport("127.0.0.1", sink.port, security=security, username="crm", password="relay-secret",
                             ca_file=str(ca_file), timeout=5)
        assert await good.send([envelope]) == [None]
        [got] = await asyncio.to_thread(wait_for_mail, tmp_path / "mail", "tls@example.cn")
        assert got.subject == "加密"

        wrong = SmtpTransport("127.0.0.1", sink.port, security=security, username="crm", password="nope",
                              ca_file=str(ca_file), timeout=5)
        [error] = await wrong.send([envelope])
        assert error is not None and not mail.permanent(error)  # our settings are wrong: kept and retried
        untrusted = SmtpTransport("127.0.0.1", sink.port, security=security, username="crm",
                                  password="relay-secret", timeout=5)
        [error] = await untrusted.send([envelope])
        assert isinstance(error, ssl.SSLError)  # an unknown certificate is never accepted
        if not implicit_tls:  # the server requires STARTTLS: plain text is refused
            [error] = await SmtpTransport("127.0.0.1", sink.port, security="none", timeout=5).send([envelope])
            assert error is not None
        assert len(received(tmp_path / "mail")) == 1
    finally:
        await asyncio.to_thread(sink.stop)


def test_mailer_refuses_a_bad_sender() -> None:
    with pytest.raises(ValueError):
        Mailer("no sender")
