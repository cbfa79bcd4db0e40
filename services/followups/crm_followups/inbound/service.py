"""Email into the timeline (docs/followups.md#email-into-the-timeline): each tenant has one inbound
address, `<slug>+<tenant id hex>.<token>@<inbound domain>` (the token: 80 random bits, rotatable;
the slug is for people and not checked). Mail delivered to it by the inbound SMTP server
(server.py) becomes a follow-up record of method `email` on every customer whose email address is
among the mail's From / To / Cc (up to 20), written through `RecordService.create` (numbering,
events, timeline) with the actor being the tenant user who sent it (From, else the first user among
To / Cc; none: `client:inbound-mail`). A mail is recorded once per customer (Message-ID)."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_followups.inbound import directory
from crm_followups.inbound.parse import InboundMail
from crm_followups.inbound.tables import inbound_mailbox, inbound_messages
from crm_followups.record import dictionaries
from crm_followups.record.service import RecordService
from crm_platform import telemetry
from crm_platform.auth import Principal, Scope
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import DomainError
from crm_platform.tables import tenants

log = logging.getLogger(__name__)

CLIENT_ID: Final = "inbound-mail"
METHOD: Final = "email"
RESULT: Final = "needs_followup"
LOCAL_PART: Final = re.compile(r"^(?:[^+]*\+)?([0-9a-f]{32})\.([0-9a-f]{20})$")


@dataclass(frozen=True)
class Mailbox:
    tenant_id: uuid.UUID
    local_part: str  # "<tenant id hex>.<token>"
    domain: str


class TryLater(Exception):
    """The mail cannot be recorded now (a customer not known everywhere yet): 451, the sender's
    server retries."""


def new_token() -> str:
    return secrets.token_hex(10)


class InboundService:
    def __init__(self, engine: AsyncEngine, records: RecordService, domain: str):
        self.engine = engine
        self.records = records
        self.domain = domain.strip().lower()

    # -- the address -----------------------------------------------------------------------------
    async def address(self, session: AsyncSession, tenant_id: uuid.UUID, *, rotate: bool = False) -> Mailbox:
        token = new_token()
        statement = pg_insert(inbound_mailbox).values(id=1, token=token)
        if rotate:
            statement = statement.on_conflict_do_update(index_elements=["id"], set_={"token": token,
                                                                                     "created_at": sa.func.now()})
        else:
            statement = statement.on_conflict_do_nothing(index_elements=["id"])
        await session.execute(statement)
        stored = (await session.execute(sa.select(inbound_mailbox.c.token).where(inbound_mailbox.c.id == 1))).scalar()
        return Mailbox(tenant_id, f"{tenant_id.hex}.{stored}", self.domain)

    async def tenant_of(self, address: str) -> uuid.UUID | None:
        """The tenant whose inbound address this is, or None (unknown, wrong token, other domain)."""
        local, _, domain = address.strip().lower().rpartition("@")
        found = LOCAL_PART.match(local)
        if domain != self.domain or found is None:
            return None
        tenant_id = uuid.UUID(found.group(1))
        async with control_session(self.engine) as session:
            known = (await session.execute(sa.select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id))
                     ).first()
        if known is None:
            return None
        async with tenant_session(self.engine, tenant_id) as session:
            token = (await session.execute(sa.select(inbound_mailbox.c.token).where(inbound_mailbox.c.id == 1))
                     ).scalar()
        return tenant_id if token and hmac.compare_digest(str(token), found.group(2)) else None

    # -- recording -------------------------------------------------------------------------------
    async def record(self, tenant_id: uuid.UUID, mail: InboundMail) -> int:
        """Records the mail for the tenant; returns the records written (0 when no customer matched,
        or it was recorded before). Raises TryLater when it should be delivered again."""
        own = [a for a in (*mail.senders, *mail.recipients) if not a.lower().endswith("@" + self.domain)]
        async with tenant_session(self.engine, tenant_id) as session:
            customers = await directory.customers_by_email(session, own)
            if not customers:
                log.info("inbound mail matched no customer", extra=telemetry.log_fields(tenant=str(tenant_id)))
                return 0
            customers = await self._not_recorded_yet(session, mail, customers)
            if not customers:
                return 0
            actor = await directory.user_by_email(session, [*mail.senders, *mail.recipients])
            caller = Principal(tenant_id=tenant_id, subject=f"user:{actor}" if actor else f"service:{CLIENT_ID}",
                               client_id=CLIENT_ID, user_id=actor, data_scope="all",
                               scopes=frozenset({Scope.FOLLOWUPS_WRITE.value, Scope.FOLLOWUPS_READ.value}))
            method, result = await self._codes(session)
            now = datetime.now(UTC)
            at = mail.sent_at if mail.sent_at is not None and mail.sent_at <= now + timedelta(minutes=5) else now
            written = 0
            for customer in customers:
                try:
                    await self.records.create(
                        session, caller, customer_id=str(customer), followed_at=min(at, now), method=method,
                        content=mail.text or "-", result=result, next_followup_at=None, next_method="",
                        next_action="", next_assignee_id="", task_id="", followed_by="")
                except DomainError as exc:
                    # Known here but not yet to the data-scope projection, or erased meanwhile.
                    raise TryLater(exc.message) from None
                written += 1
            recorded = inbound_messages.c
            await session.execute(sa.update(inbound_messages).where(recorded.message_id == mail.message_id).values(
                records=recorded.records + written,
                customers=sa.func.array_cat(recorded.customers, sa.cast(customers, recorded.customers.type))))
        log.info("inbound mail recorded", extra=telemetry.log_fields(tenant=str(tenant_id), records=written))
        return written

    @staticmethod
    async def _not_recorded_yet(session: AsyncSession, mail: InboundMail,
                                customers: list[uuid.UUID]) -> list[uuid.UUID]:
        """The customers this mail is not recorded for yet, the mail's row locked until commit. Once
        per customer, not per mail: a mail that named a customer followups did not know yet (its
        events a moment behind) is recorded for that customer when delivered again, and for no one
        twice (a resend, a colleague's BCC)."""
        await session.execute(pg_insert(inbound_messages).values(
            message_id=mail.message_id, sender=mail.sender[:320], records=0, customers=[],
        ).on_conflict_do_nothing(index_elements=["message_id"]))
        recorded = (await session.execute(
            sa.select(inbound_messages.c.customers).where(inbound_messages.c.message_id == mail.message_id)
            .with_for_update())).scalar_one()
        if recorded is None:  # a row from before fu0170: recorded for everyone it named
            return []
        return [customer for customer in customers if customer not in set(recorded)]

    @staticmethod
    async def _codes(session: AsyncSession) -> tuple[str, str]:
        """`email` and `needs_followup`, or the dictionaries' first entries if a tenant removed them."""
        methods = await dictionaries.load(session, "method")
        results = await dictionaries.load(session, "result")
        method = METHOD if methods.get(METHOD) else (methods.entries[0].code if methods.entries else METHOD)
        result = RESULT if results.get(RESULT) else (results.entries[0].code if results.entries else RESULT)
        return method, result
