"""Outgoing mail, the one way: a transactional mail outbox sent over SMTP.

- `Mailer.queue(session, Mail(...))` renders the whole message (RFC 5322, with a fixed Message-ID)
  and inserts it into `control.mail_outbox` in the caller's transaction: the mail exists exactly when
  the business change that wanted it committed. A failed send never rolls anything back, and a
  rolled-back change never sends a mail with a dead link.
- `MailSender` (started by `crm_platform/runtime.py` for services with `sends_mail`) sends committed
  rows after commit over one SMTP connection per batch, claimed with `FOR UPDATE SKIP LOCKED` (one
  replica sends a row). Temporary failures (connection refused, 4xx) are retried on
  `retry_schedule`; a permanent refusal (5xx for the recipients or the message) or the last retry
  makes the row `dead`. A sent row keeps its envelope and subject but drops the message body (it
  may carry one-time links); sent and dead rows are purged after `retention`.
- `SmtpTransport`: the standard library's smtplib in a thread (the event loop never blocks),
  STARTTLS, implicit TLS or none, optional login, an extra CA file for private relays.

Delivery is at least once: a process that dies after the server accepted a message but before the
row was marked sent sends it again, with the same Message-ID (receivers can drop the duplicate).
Settings per deployable: `CRM_<SERVICE>_SMTP_*`, `_MAIL_FROM`, `_MAIL_FROM_NAME`
(crm_platform/config.py). See docs/platform.md#mailer.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import logging
import smtplib
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any, Final, Literal

import sqlalchemy as sa
from opentelemetry import metrics
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import telemetry
from crm_platform.config import ServiceSettings
from crm_platform.db import control_session, mail_committed
from crm_platform.ids import new_id
from crm_platform.tables import mail_outbox

log = logging.getLogger(__name__)

SmtpSecurity = Literal["starttls", "ssl", "none"]
DEFAULT_RETRY_SCHEDULE: Final = (
    timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30),
    timedelta(hours=2), timedelta(hours=6),
)
RETENTION: Final = timedelta(days=30)
PURGE_EVERY: Final = timedelta(hours=1)


# -- the message ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attachment:
    """A file attached to the message (e.g. an XLSX or PDF report)."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class InlineImage:
    """An image shown inside the HTML body: `<img src="cid:{cid}">` (multipart/related)."""

    cid: str
    content: bytes
    content_type: str = "image/png"


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...] | str
    subject: str
    text: str
    html: str = ""
    reply_to: str = ""
    attachments: tuple[Attachment, ...] = field(default=())
    inline_images: tuple[InlineImage, ...] = field(default=())

    @property
    def recipients(self) -> tuple[str, ...]:
        return (self.to,) if isinstance(self.to, str) else tuple(self.to)


def _check_address(address: str) -> str:
    if "@" not in address or any(c.isspace() for c in address) or len(address) > 320:
        raise ValueError(f"not a mail address: {address!r}")
    return address


def _split_type(content_type: str) -> tuple[str, str]:
    maintype, _, subtype = content_type.partition("/")
    if not maintype or not subtype:
        raise ValueError(f"not a MIME type: {content_type!r}")
    return maintype, subtype


def build_message(mail: Mail, sender: str, sender_name: str = "") -> EmailMessage:
    """The MIME message: text/plain, with an HTML alternative (multipart/alternative) whose inline
    images travel with it (multipart/related), and attachments around all that (multipart/mixed)."""
    recipients = [_check_address(a) for a in mail.recipients]
    if not recipients:
        raise ValueError("a mail needs at least one recipient")
    if mail.inline_images and not mail.html:
        raise ValueError("inline images need an HTML body that shows them")
    message = EmailMessage()
    message["From"] = formataddr((sender_name, sender)) if sender_name else sender
    message["To"] = ", ".join(recipients)
    if mail.reply_to:
        message["Reply-To"] = _check_address(mail.reply_to)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or None)
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
        if mail.inline_images:
            html_part = message.get_payload(1)
            assert isinstance(html_part, EmailMessage)
            for image in mail.inline_images:
                maintype, subtype = _split_type(image.content_type)
                html_part.add_related(image.content, maintype, subtype, cid=f"<{image.cid}>",
                                      disposition="inline", filename=f"{image.cid}.{subtype}")
    for attachment in mail.attachments:
        maintype, subtype = _split_type(attachment.content_type)
        message.add_attachment(attachment.content, maintype, subtype, filename=attachment.filename)
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as SMTP carries it: CRLF line ends (smtplib sends bytes as they are, and servers
    refuse bare LF lines, which also read as one overlong line)."""
    return message.as_bytes(policy=email.policy.SMTP)


# -- queueing (in the caller's transaction) ---------------------------------------------------------

@dataclass(frozen=True)
class QueuedMail:
    """A rendered message as its `control.mail_outbox` row will hold it (`Mailer.render`), not yet
    written (`insert_queued`)."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    category: str
    sender: str
    recipients: list[str]
    subject: str
    message_id: str
    message: bytes


async def insert_queued(session: AsyncSession, items: list[QueuedMail]) -> None:
    """Writes rendered messages (of any tenants) to the mail outbox in the caller's transaction, in
    one INSERT (multi-row VALUES batches); they are sent only if that commits. A scheduler handler
    reminding many users hands this to the end of its batch (`scheduler.defer`)."""
    if not items:
        return
    statement = sa.insert(mail_outbox).values(next_attempt_at=sa.func.now()).returning(mail_outbox.c.id)
    await session.execute(statement, [
        {"id": item.id, "tenant_id": item.tenant_id, "category": item.category, "sender": item.sender,
         "recipients": item.recipients, "subject": item.subject, "message_id": item.message_id,
         "message": item.message, "status": "pending", "attempts": 0}
        for item in items
    ])
    session.info["mail_queued"] = True


class Mailer:
    """Queues mail from one sender address (the service's `mail_from`)."""

    def __init__(self, sender: str, sender_name: str = ""):
        self.sender = _check_address(sender)
        self.sender_name = sender_name

    def render(self, mail: Mail, *, tenant_id: uuid.UUID | None, category: str) -> QueuedMail:
        """The whole message, rendered, with its new id (for `insert_queued`)."""
        message = build_message(mail, self.sender, self.sender_name)
        return QueuedMail(id=new_id(), tenant_id=tenant_id, category=category, sender=self.sender,
                          recipients=list(mail.recipients), subject=mail.subject[:500],
                          message_id=str(message["Message-ID"]), message=wire_bytes(message))

    async def queue(
        self, session: AsyncSession, mail: Mail, *, tenant_id: uuid.UUID | None, category: str
    ) -> uuid.UUID:
        """Adds the rendered message to the caller's transaction; it is sent only if that commits.
        `category` names what it is (e.g. "identity.invitation") in logs, metrics and listings."""
        queued = self.render(mail, tenant_id=tenant_id, category=category)
        await insert_queued(session, [queued])
        return queued.id


# -- SMTP ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: list[str]
    message: bytes


def permanent(error: BaseException) -> bool:
    """A refusal that retrying cannot fix (5xx for the recipients or the message). Our own
    configuration problems (login, sender address) are retried: fixing the settings sends the mail."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused):
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


class SmtpTransport:
    def __init__(
        self, host: str, port: int, *, security: SmtpSecurity = "starttls", username: str = "", password: str = "",
        timeout: float = 15.0, ca_file: str = "",
    ):
        if security not in ("starttls", "ssl", "none"):
            raise ValueError("SMTP security must be starttls, ssl or none")
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout, self.ca_file = username, password, timeout, ca_file

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return context

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=self._context())
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _send_blocking(self, envelopes: Sequence[Envelope]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            return [exc] * len(envelopes)
        try:
            for index, envelope in enumerate(envelopes):
                try:
                    refused = smtp.sendmail(envelope.sender, envelope.recipients, envelope.message)
                    if refused:
                        log.warning("some recipients refused", extra=telemetry.log_fields(
                            refused=len(refused), accepted=len(envelope.recipients) - len(refused)))
                    outcomes.append(None)
                except smtplib.SMTPServerDisconnected as exc:  # the rest cannot go on this connection
                    outcomes += [exc] * (len(envelopes) - index)
                    return outcomes
                except (OSError, smtplib.SMTPException) as exc:
                    outcomes.append(exc)
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
        return outcomes

    async def send(self, envelopes: Sequence[Envelope]) -> list[Exception | None]:
        """Sends each message over one connection; per message None (accepted) or the error."""
        if not envelopes:
            return []
        return await asyncio.to_thread(self._send_blocking, list(envelopes))


# -- sending after commit ---------------------------------------------------------------------------

class MailMetrics:
    def __init__(self, meter: metrics.Meter | None = None):
        meter = meter or metrics.get_meter("crm_platform.mail")
        self.sent = meter.create_counter("crm.mail.sent", description="messages accepted by the SMTP server")
        self.failed = meter.create_counter("crm.mail.failed", description="failed send attempts")
        self.dead = meter.create_counter("crm.mail.dead", description="messages given up")
        self.delay = meter.create_histogram("crm.mail.delay", unit="s", description="queued -> accepted")


class MailSender:
    """Sends committed `control.mail_outbox` rows. `retry_schedule[n]` is the wait after attempt n+1."""

    def __init__(
        self,
        engine: AsyncEngine,
        transport: SmtpTransport,
        *,
        retry_schedule: Sequence[timedelta] = DEFAULT_RETRY_SCHEDULE,
        batch_size: int = 20,
        poll_seconds: float = 2.0,
        retention: timedelta = RETENTION,
        meter: metrics.Meter | None = None,
    ):
        self.engine = engine
        self.transport = transport
        self.retry_schedule = list(retry_schedule)
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.metrics = MailMetrics(meter)
        self._stopping = False
        self._purged_at: float | None = None

    def retry_delay(self, attempt: int) -> timedelta | None:
        index = attempt - 1
        return self.retry_schedule[index] if index < len(self.retry_schedule) else None

    async def send_batch(self) -> int:
        """Sends one batch of due rows; returns how many were attempted."""
        m = mail_outbox.c
        async with control_session(self.engine) as session:
            rows = (await session.execute(
                sa.select(m.id, m.tenant_id, m.category, m.sender, m.recipients, m.message, m.attempts, m.created_at)
                .where(m.status == "pending", m.next_attempt_at <= sa.func.now())
                .order_by(m.next_attempt_at)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )).all()
            if not rows:
                return 0
            outcomes = await self.transport.send(
                [Envelope(r.sender, list(r.recipients), bytes(r.message)) for r in rows])
            now = datetime.now(UTC)
            for row, error in zip(rows, outcomes, strict=True):
                await self._record(session, row, error, now)
        return len(rows)

    async def _record(self, session: AsyncSession, row: Any, error: Exception | None, now: datetime) -> None:
        m = mail_outbox.c
        attempt = row.attempts + 1
        fields = telemetry.log_fields(mail_id=str(row.id), category=row.category, attempt=attempt,
                                      tenant_id=str(row.tenant_id) if row.tenant_id else None)
        attributes = {"category": row.category}
        if error is None:
            await session.execute(sa.update(mail_outbox).where(m.id == row.id).values(
                status="sent", attempts=attempt, sent_at=sa.func.now(), updated_at=sa.func.now(), message=None,
                last_error=None))
            self.metrics.sent.add(1, attributes)
            self.metrics.delay.record(max((now - row.created_at).total_seconds(), 0.0), attributes)
            log.info("mail sent", extra=fields)
            return
        message = f"{type(error).__name__}: {error}"[:2000]
        delay = None if permanent(error) else self.retry_delay(attempt)
        values: dict[str, Any] = {"attempts": attempt, "last_error": message, "updated_at": sa.func.now()}
        if delay is None:
            values["status"] = "dead"
            self.metrics.dead.add(1, attributes)
        else:
            values["next_attempt_at"] = sa.func.now() + delay
        await session.execute(sa.update(mail_outbox).where(m.id == row.id).values(**values))
        self.metrics.failed.add(1, attributes)
        log.log(logging.ERROR if delay is None else logging.WARNING,
                "mail dead" if delay is None else "mail send failed, will retry",
                extra={"fields": {**fields["fields"], "error": message,
                                  "retry_in_s": delay.total_seconds() if delay else None}})

    async def purge(self) -> int:
        """Deletes sent and dead rows older than the retention period."""
        m = mail_outbox.c
        async with control_session(self.engine) as session:
            result = await session.execute(sa.delete(mail_outbox).where(
                m.status.in_(["sent", "dead"]), m.updated_at < sa.func.now() - self.retention))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _maybe_purge(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if self._purged_at is None or loop_time - self._purged_at > PURGE_EVERY.total_seconds():
            self._purged_at = loop_time
            await self.purge()

    async def run(self) -> None:
        while not self._stopping:
            # Cleared before reading, so a commit landing during the batch is not missed.
            mail_committed.clear()
            try:
                await self._maybe_purge()
                if await self.send_batch() >= self.batch_size:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # Postgres away: nothing was marked, the rows wait
                log.exception("mail sender batch failed")
            # Woken by a local commit at once; polling covers other replicas' rows and retries.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(mail_committed.wait(), timeout=self.poll_seconds)

    def stop(self) -> None:
        self._stopping = True
        mail_committed.set()


# -- observing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailBacklog:
    pending: int
    oldest_created_at: datetime | None


async def backlog(session: AsyncSession) -> MailBacklog:
    m = mail_outbox.c
    count, oldest = (await session.execute(
        sa.select(sa.func.count(), sa.func.min(m.created_at)).where(m.status == "pending"))).one()
    return MailBacklog(int(count), oldest)


async def failed(session: AsyncSession, *, tenant_id: uuid.UUID | None = None, limit: int = 100) -> list[sa.Row[Any]]:
    """Dead messages and messages waiting for a retry, most recent first (without their bodies)."""
    m = mail_outbox.c
    query: sa.Select[Any] = sa.select(
        m.id, m.tenant_id, m.category, m.recipients, m.subject, m.status, m.attempts, m.next_attempt_at,
        m.last_error, m.created_at, m.updated_at).where(
        sa.or_(m.status == "dead", sa.and_(m.status == "pending", m.attempts > 0)))
    if tenant_id is not None:
        query = query.where(m.tenant_id == tenant_id)
    return list((await session.execute(query.order_by(m.updated_at.desc()).limit(limit))).all())


def transport_from_settings(settings: ServiceSettings) -> SmtpTransport | None:
    """The SMTP transport of a deployable's settings (`smtp_*`), or None when no host is set."""
    if not settings.smtp_host:
        return None
    return SmtpTransport(settings.smtp_host, settings.smtp_port, security=settings.smtp_security,
                         username=settings.smtp_username, password=settings.smtp_password,
                         timeout=settings.smtp_timeout, ca_file=settings.smtp_ca_file)
