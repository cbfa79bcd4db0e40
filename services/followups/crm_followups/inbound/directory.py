"""Who an inbound email is about and who sent it.

- Customers by email address: `inbound_customer_emails`, a projection of customers' events (created,
  updated, deleted, restored, erased, imported, import reverted; the newest version wins, an erased
  customer's row is deleted), kept by its own durable consumer. A customer's email is a plain
  contact field in customers (not one of the encrypted sensitive fields), matched here as the
  customers service's `email` filter matches it: trimmed and case-insensitive (`email_key`).
- Users by email address: followups' `user_teams` projection of identity's user events (email,
  disabled) that reminders already keep (crm_followups/access.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.access import user_teams
from crm_followups.inbound.tables import inbound_customer_emails
from crm_platform.consumer import Subscription
from crm_platform.customer_scope import DELETED, SUBJECTS
from crm_platform.erasure import about_erased_customer, apply_erasure
from crm_platform.events import CloudEvent

DURABLE: Final = "followups-inbound-emails"
# One mail names at most this many customers (a mail to a whole mailing list is not a follow-up).
MAX_CUSTOMERS: Final = 20


def email_key(value: str) -> str:
    return value.strip().lower()


def _row(event: CloudEvent, customer: Any) -> dict[str, Any] | None:
    if not isinstance(customer, dict):
        return None
    try:
        return {"customer_id": uuid.UUID(str(customer.get("id"))),
                "email_key": email_key(str(customer.get("email") or "")),
                "deleted": event.type == DELETED or bool(customer.get("deleted_at")),
                "version": int(customer.get("version") or 0)}
    except (TypeError, ValueError):
        return None


async def _save(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    newest: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        if row["customer_id"] not in newest or newest[row["customer_id"]]["version"] < row["version"]:
            newest[row["customer_id"]] = row
    if not newest:
        return
    statement = pg.insert(inbound_customer_emails).values(list(newest.values()))
    await session.execute(statement.on_conflict_do_update(
        index_elements=[inbound_customer_emails.c.customer_id],
        set_={"email_key": statement.excluded.email_key, "deleted": statement.excluded.deleted,
              "version": statement.excluded.version},
        where=inbound_customer_emails.c.version <= statement.excluded.version,
    ))


def subscription() -> Subscription:
    async def forget(session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
        await session.execute(sa.delete(inbound_customer_emails).where(
            inbound_customer_emails.c.customer_id == customer_id))

    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        if await apply_erasure(session, event, forget) or await about_erased_customer(session, event):
            return
        data = event.data if isinstance(event.data, dict) else {}
        batch = data.get("customers")
        customers: list[Any] = batch if isinstance(batch, list) else [data.get("customer")]
        await _save(session, [r for r in (_row(event, c) for c in customers) if r is not None])

    return Subscription(durable=DURABLE, filter_subjects=SUBJECTS, handler=handle)


async def customers_by_email(session: AsyncSession, addresses: Iterable[str]) -> list[uuid.UUID]:
    keys = sorted({email_key(a) for a in addresses if a.strip()})
    if not keys:
        return []
    found = await session.execute(
        sa.select(inbound_customer_emails.c.customer_id)
        .where(inbound_customer_emails.c.email_key.in_(keys), inbound_customer_emails.c.deleted.is_(False))
        .order_by(inbound_customer_emails.c.customer_id).limit(MAX_CUSTOMERS))
    return list(found.scalars())


async def user_by_email(session: AsyncSession, addresses: Iterable[str]) -> uuid.UUID | None:
    """The first address (in the order given) that is an enabled user of the tenant."""
    ordered = [email_key(a) for a in addresses if a.strip()]
    if not ordered:
        return None
    found = dict((await session.execute(
        sa.select(sa.func.lower(user_teams.c.email), user_teams.c.user_id)
        .where(sa.func.lower(user_teams.c.email).in_(ordered), user_teams.c.disabled.is_(False)))).all())
    for address in ordered:
        if address in found:
            return uuid.UUID(str(found[address]))
    return None
