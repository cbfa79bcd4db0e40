"""`order.recorded`: the one event about orders (proto crm.events.v1.OrderRecorded)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import outbox
from crm_platform.db import TENANT
from crm_platform.events import proto_data
from crm_proto.crm.events.v1 import events_pb2

SOURCE = "crm/customers"


def amount_text(value: Any) -> str:
    """A stored amount as the decimal string the API shows: at least 2 decimals, trailing zeros
    beyond them dropped (`1200.50`, `3.125`, `0.0001`)."""
    text = f"{value:.4f}"
    while text.endswith("0") and len(text.split(".")[1]) > 2:
        text = text[:-1]
    return text


def session_tenant(session: AsyncSession) -> uuid.UUID:
    """The tenant a tenant session is bound to (its `schema_translate_map`, crm_platform/db.py)."""
    bind = session.get_bind()
    schema = bind.get_execution_options()["schema_translate_map"][TENANT]
    return uuid.UUID(hex=schema.removeprefix("t_"))


def payload(row: Any, *, moved: bool = False) -> events_pb2.OrderRecorded:
    return events_pb2.OrderRecorded(
        order_id=str(row.id), external_id=row.external_id, customer_id=str(row.customer_id), kind=row.kind,
        amount=amount_text(row.amount), currency=row.currency, ordered_on=row.ordered_on.isoformat(),
        status=row.status, version=row.version, moved=moved,
    )


async def recorded(
    session: AsyncSession, row: Any, *, tenant_id: uuid.UUID | str | None = None, moved: bool = False
) -> None:
    await outbox.add_event(
        session, source=SOURCE, tenant_id=tenant_id or session_tenant(session), aggregate="order",
        verb="recorded", data=proto_data(payload(row, moved=moved)), subject_id=str(row.id),
    )


async def recorded_many(session: AsyncSession, rows: list[Any], *, tenant_id: uuid.UUID | str) -> None:
    """One `order.recorded` per row, written in one statement (batches)."""
    await outbox.add_events(
        session, source=SOURCE, tenant_id=tenant_id, aggregate="order", verb="recorded",
        items=[(proto_data(payload(row)), str(row.id)) for row in rows],
    )
