"""Outgoing email: one small `Mailer` interface with two implementations.

- `SmtpMailer`: the standard library's smtplib (STARTTLS or implicit TLS, optional login), run in
  a thread so the event loop never blocks. Settings `CRM_IDENTITY_SMTP_*`.
- `LocalMailer`: writes every message as an `.eml` file into a directory (the dev runner uses
  `.crm/mail`, the tests read it) and logs the message's link, so a developer can click it.

`mailer_from_settings` picks SMTP when `smtp_host` is set, else the local directory."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Protocol

from crm_platform import telemetry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str = ""
    # The one link the message is about (it carries a one-time token: never logged).
    link: str = ""


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


def build_message(mail: Mail, sender: str, sender_name: str = "") -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((sender_name, sender)) if sender_name else sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or None)
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


class SmtpMailer:
    def __init__(
        self, host: str, port: int, sender: str, *, sender_name: str = "", username: str = "", password: str = "",
        security: str = "starttls", timeout: float = 15.0,
    ):
        if security not in ("starttls", "ssl", "none"):
            raise ValueError("CRM_IDENTITY_SMTP_SECURITY must be starttls, ssl or none")
        self.host, self.port, self.sender, self.sender_name = host, port, sender, sender_name
        self.username, self.password, self.security, self.timeout = username, password, security, timeout

    def _send_blocking(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)

    async def send(self, mail: Mail) -> None:
        await asyncio.to_thread(self._send_blocking, build_message(mail, self.sender, self.sender_name))


class LocalMailer:
    """Development and tests: `<directory>/<time>-<id>.eml`, one file per message."""

    def __init__(self, directory: Path, sender: str, sender_name: str = ""):
        self.directory = directory
        self.sender = sender
        self.sender_name = sender_name

    def _write(self, message: EmailMessage) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        path = self.directory / name
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(bytes(message))
        temporary.replace(path)  # readers never see a half-written file
        return path

    async def send(self, mail: Mail) -> None:
        path = await asyncio.to_thread(self._write, build_message(mail, self.sender, self.sender_name))
        # Not the link: it carries a one-time token, and logs are read by more people than mailboxes.
        log.info("mail written", extra=telemetry.log_fields(to=mail.to, path=str(path)))


def mailer_from_settings(
    *, smtp_host: str, smtp_port: int, smtp_username: str, smtp_password: str, smtp_security: str,
    mail_from: str, mail_from_name: str, mail_dir: str,
) -> Mailer:
    if smtp_host:
        return SmtpMailer(smtp_host, smtp_port, mail_from, sender_name=mail_from_name, username=smtp_username,
                          password=smtp_password, security=smtp_security)
    if not mail_dir:
        raise ValueError("set CRM_IDENTITY_SMTP_HOST (SMTP) or CRM_IDENTITY_MAIL_DIR (local .eml files)")
    return LocalMailer(Path(mail_dir), mail_from, mail_from_name)
