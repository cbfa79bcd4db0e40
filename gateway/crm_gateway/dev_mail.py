"""What the local SMTP server received, for the developers' mail page and the tests.

`crm dev` (and the test suite's platform) run a real SMTP server (`crm_dev/smtp_sink.py`) that keeps
every message in a Maildir under the data directory, and set `CRM_GATEWAY_DEV_MAILBOX_DIR` to it;
nothing else sets it, so in production the page does not exist. This module only reads: messages
newest first, one message with its text, HTML, attachments and inline images, and one part's bytes
(for showing an inline image or downloading an attachment)."""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z0-9._:,=-]{1,255}$")


@dataclass(frozen=True)
class Part:
    """An attachment or inline image: its index among the message's parts (for `DevMailbox.part`)."""

    index: int
    filename: str
    content_type: str
    size: int
    content_id: str = ""


@dataclass(frozen=True)
class ReceivedMail:
    key: str
    received_at: datetime
    envelope_from: str
    envelope_to: tuple[str, ...]
    sender: str
    to: str
    subject: str
    message_id: str
    text: str
    html: str
    attachments: tuple[Part, ...]
    inline: tuple[Part, ...]
    message: EmailMessage


def _parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


def _parts(message: EmailMessage) -> tuple[tuple[Part, ...], tuple[Part, ...]]:
    attachments: list[Part] = []
    inline: list[Part] = []
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        content_id = str(part.get("Content-ID", "")).strip().strip("<>")
        is_attachment = part.get_content_disposition() == "attachment"
        if not is_attachment and not content_id:
            continue  # a text or HTML body
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        entry = Part(index, part.get_filename() or "", part.get_content_type(), size, content_id)
        (attachments if is_attachment else inline).append(entry)
    return tuple(attachments), tuple(inline)


class DevMailbox:
    """Reads a Maildir (`new/` and `cur/`) written by the local SMTP server."""

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)

    def _files(self) -> list[Path]:
        found = [p for sub in ("new", "cur") if (self.directory / sub).is_dir()
                 for p in (self.directory / sub).iterdir() if p.is_file()]
        return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)

    def _read(self, path: Path) -> ReceivedMail:
        message = _parse(path.read_bytes())
        attachments, inline = _parts(message)
        return ReceivedMail(
            key=path.name,
            received_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
            envelope_from=str(message.get("X-Envelope-From", "")).strip("<>"),
            envelope_to=tuple(a.strip() for a in str(message.get("X-Envelope-To", "")).split(",") if a.strip()),
            sender=str(message.get("From", "")),
            to=str(message.get("To", "")),
            subject=str(message.get("Subject", "")),
            message_id=str(message.get("Message-ID", "")),
            text=_body(message, "plain"),
            html=_body(message, "html"),
            attachments=attachments,
            inline=inline,
            message=message,
        )

    def list(self, *, limit: int = 100, to: str | None = None) -> list[ReceivedMail]:
        """Newest first; `to`: only messages delivered to that address (envelope, case-insensitive)."""
        result: list[ReceivedMail] = []
        wanted = to.lower() if to else None
        for path in self._files():
            try:
                mail = self._read(path)
            except FileNotFoundError:  # moved from new/ to cur/ meanwhile
                continue
            if wanted is None or wanted in (a.lower() for a in mail.envelope_to):
                result.append(mail)
                if len(result) >= limit:
                    break
        return result

    def get(self, key: str) -> ReceivedMail | None:
        if not _KEY.match(key):
            return None
        for sub in ("new", "cur"):
            path = self.directory / sub / key
            if path.is_file():
                return self._read(path)
        return None

    def part(self, key: str, index: int) -> tuple[str, str, bytes] | None:
        """(content type, filename, bytes) of an attachment or inline image of a message."""
        mail = self.get(key)
        if mail is None:
            return None
        for entry in (*mail.attachments, *mail.inline):
            if entry.index == index:
                part = list(mail.message.walk())[index]
                payload = part.get_payload(decode=True)
                return entry.content_type, entry.filename, payload if isinstance(payload, bytes) else b""
        return None
