"""A real SMTP server for development and tests (aiosmtpd), keeping every message it receives in a
Maildir: `crm dev` and the test suite's platform point every service's `CRM_<SERVICE>_SMTP_*` at
it, and developers (the gateway's dev mailbox, `crm_gateway/dev_mail.py`) and tests read what was
sent from `<data dir>/mail`.

It can also speak STARTTLS or implicit TLS and require a login, so the platform's SMTP client is
tested against those paths without a mail provider. Recipients at `refused.invalid` are refused
with 550 (a permanent failure), so a bounce can be tried out too."""

from __future__ import annotations

import mailbox
import ssl
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

REFUSED_DOMAIN = "refused.invalid"


class _MaildirHandler:
    def __init__(self, directory: Path):
        for sub in ("tmp", "new", "cur"):  # also when an older run left a plain directory there
            (directory / sub).mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(directory, create=True)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        # What the envelope said (Bcc recipients appear nowhere else), as delivering MTAs record it.
        trace = (f"X-Envelope-From: <{envelope.mail_from}>\r\n"
                 f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        with self.lock:  # Maildir.add writes to tmp/ and renames into new/: readers see whole files
            self.maildir.add(trace + content)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1:`port` (a thread of this process), delivering into `maildir`.

    `tls`: a server certificate context; with `implicit_tls` the connection starts in TLS (port 465
    style), else STARTTLS is offered and required. `login`: (user, password) required to send."""

    def __init__(self, maildir: Path, port: int, *, tls: ssl.SSLContext | None = None, implicit_tls: bool = False,
                 login: tuple[str, str] | None = None):
        self.maildir = maildir
        self.port = port
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.login = login
        self.controller: Controller | None = None

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if (self.login is not None and isinstance(auth_data, LoginPassword)
                and (auth_data.login.decode(), auth_data.password.decode()) == self.login):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        options: dict[str, Any] = {"enable_SMTPUTF8": True}
        if self.login is not None:
            # aiosmtpd only recognises STARTTLS as TLS; with implicit TLS the whole connection is.
            options |= {"authenticator": self._authenticate, "auth_required": True,
                        "auth_require_tls": self.tls is not None and not self.implicit_tls}
        if self.tls is not None and not self.implicit_tls:
            options |= {"tls_context": self.tls, "require_starttls": True}
        controller = Controller(
            _MaildirHandler(self.maildir), hostname="127.0.0.1", port=self.port,
            ssl_context=self.tls if self.implicit_tls else None, **options,
        )
        controller.start()
        self.controller = controller

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
