"""An inbound email read with the standard library (`email`, policy `default`): its addresses,
date, Message-ID, and the text a follow-up record keeps.

The record's content is the subject, a blank line, and the text body (the `text/plain` part, else
the HTML part's text), with quoted earlier messages (`>` lines, "On ... wrote:" and Outlook's
"-----Original Message-----" onwards) and the signature (after "-- ") cut, blank runs collapsed,
and at most `MAX_TEXT` characters (cut at a line or word end, with "…"). Numbers that look like a
resident ID or a bank card are masked (`110***********002X`, `************1234`): a record's content
is read by everyone who sees the customer, while those numbers are sensitive fields that only a
holder of `customers:reveal` may read (docs/access.md, field policies)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Final

MAX_TEXT: Final = 4000
RESIDENT_ID: Final = re.compile(r"(?<![0-9])\d{17}[0-9Xx](?![0-9A-Za-z])")
BANK_CARD: Final = re.compile(r"(?<![0-9])(\d{12,15})(\d{4})(?![0-9])")
QUOTE_STARTS: Final = (re.compile(r"^On .+ wrote:\s*$"), re.compile(r"^-{2,}\s*Original Message\s*-{2,}", re.I),
                       re.compile(r"^在.+写道[:：]\s*$"), re.compile(r"^-{2,}\s*原始邮件\s*-{2,}"))


@dataclass(frozen=True)
class InboundMail:
    message_id: str
    sender: str
    senders: list[str]  # From (and Sender / Reply-To), in order
    recipients: list[str]  # To, Cc
    subject: str
    text: str
    sent_at: datetime | None


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    reader = _HtmlText()
    reader.feed(html)
    return "".join(reader.parts)


def _addresses(message: EmailMessage, *headers: str) -> list[str]:
    values = [str(v) for h in headers for v in message.get_all(h, [])]
    return [address for _, address in getaddresses(values) if "@" in address]


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: the bytes as best we can
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return html_text(content) if part.get_content_type() == "text/html" else str(content)


def mask(text: str) -> str:
    text = RESIDENT_ID.sub(lambda m: m.group(0)[:3] + "*" * 11 + m.group(0)[-4:], text)
    return BANK_CARD.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)


def clean_text(body: str) -> str:
    lines: list[str] = []
    for raw in body.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if line == "--" or line == "-- ":
            break
        if any(p.match(line.strip()) for p in QUOTE_STARTS):
            break
        if line.lstrip().startswith(">"):
            continue
        if not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    return "\n".join(lines).strip()


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    at = max(cut.rfind("\n"), cut.rfind(" "))
    return (cut[:at] if at > limit // 2 else cut).rstrip() + "…"


def parse(raw: bytes) -> InboundMail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    senders = _addresses(message, "from", "sender", "reply-to")
    subject = " ".join(str(message.get("subject", "")).split())
    body = clean_text(_body(message))
    content = truncate(mask(f"{subject}\n\n{body}".strip() if body else subject))
    message_id = str(message.get("message-id", "")).strip() or "sha256:" + hashlib.sha256(raw).hexdigest()
    sent_at: datetime | None = None
    if message.get("date"):
        try:
            sent_at = parsedate_to_datetime(str(message["date"]))
            if sent_at.tzinfo is None:
                sent_at = sent_at.replace(tzinfo=UTC)
        except (TypeError, ValueError):
            sent_at = None
    return InboundMail(message_id=message_id[:500], sender=senders[0] if senders else "", senders=senders,
                       recipients=_addresses(message, "to", "cc"), subject=subject, text=content, sent_at=sent_at)
