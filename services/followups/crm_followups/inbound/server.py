"""The inbound SMTP server (aiosmtpd, in the followups process's event loop): accepts mail for the
tenants' inbound addresses only (any other recipient: 550 at RCPT, so it is never an open relay),
parses each message (parse.py) and records it for every tenant it is addressed to (service.py).
A message that cannot be recorded yet answers 451 (the sending server retries); one that names no
customer is accepted and dropped (250). Settings: `CRM_FOLLOWUPS_INBOUND_SMTP_HOST` / `_PORT`
(0: no server) and `_INBOUND_DOMAIN`. In production it sits behind the domain's MX (TLS there)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Final

from aiosmtpd.smtp import SMTP, Envelope, Session

from crm_followups.inbound.parse import parse
from crm_followups.inbound.service import InboundService, TryLater
from crm_platform import telemetry

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES: Final = 10 * 1024 * 1024


class _Handler:
    def __init__(self, service: InboundService):
        self.service = service

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        tenant = await self.service.tenant_of(address)
        if tenant is None:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        tenants: dict[str, uuid.UUID] = getattr(envelope, "crm_tenants", {})
        tenants[address] = tenant
        envelope.crm_tenants = tenants  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content.encode() if isinstance(content, str) else bytes(content)
        try:
            mail = parse(raw)
        except Exception:  # a message the parser cannot read at all: refuse it for good
            log.warning("inbound mail could not be parsed", exc_info=True)
            return "554 5.6.0 message could not be read"
        tenants = set(getattr(envelope, "crm_tenants", {}).values())
        try:
            for tenant in tenants:
                await self.service.record(tenant, mail)
        except TryLater as exc:
            log.info("inbound mail deferred", extra=telemetry.log_fields(reason=str(exc)))
            return "451 4.3.0 try again later"
        except Exception:
            log.exception("inbound mail failed")
            return "451 4.3.0 try again later"
        return "250 Message accepted"


class InboundSmtpServer:
    """A `Background` of the followups runtime: serves SMTP on host:port until stopped."""

    def __init__(self, service: InboundService, host: str, port: int, hostname: str):
        self.service = service
        self.host = host
        self.port = port
        self.hostname = hostname
        self._server: asyncio.base_events.Server | None = None
        self._stopped = asyncio.Event()

    def _protocol(self) -> Any:
        return SMTP(_Handler(self.service), hostname=self.hostname, data_size_limit=MAX_MESSAGE_BYTES,
                    enable_SMTPUTF8=True, ident="crm inbound")

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        log.info("inbound SMTP serving", extra=telemetry.log_fields(port=self.port, domain=self.service.domain))
        try:
            await self._stopped.wait()
        finally:
            self._server.close()
            await self._server.wait_closed()

    def stop(self) -> None:
        self._stopped.set()
