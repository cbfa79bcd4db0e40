"""Every SQL statement about customer exports (tables from migration c0010)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import metadata
from crm_platform.db import TENANT

customer_exports = sa.Table(
    "customer_exports",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("access", pg.JSONB, nullable=False),
    sa.Column("filters", pg.JSONB, nullable=False),
    sa.Column("order_by", sa.Text, nullable=False),
    sa.Column("columns", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("rows_done", sa.BigInteger, nullable=False),
    sa.Column("rows_total", sa.BigInteger, nullable=False),
    sa.Column("next_page_token", sa.Text, nullable=False),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("file_parts", sa.Integer, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("ip", sa.Text, nullable=False),
    sa.Column("user_agent", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("labels", pg.JSONB, nullable=False, server_default="{}"),  # files.Words (c0170)
    schema=TENANT,
)

customer_export_parts = sa.Table(
    "customer_export_parts",
    metadata,
    sa.Column("export_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    schema=TENANT,
)


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(customer_exports).values(**values).returning(customer_exports))).one()


async def get(session: AsyncSession, export_id: uuid.UUID, owner: str | None = None, *,
              lock: bool = False) -> sa.Row[Any] | None:
    """`owner`: only that requester's export (another user's is not found)."""
    query = sa.select(customer_exports).where(customer_exports.c.id == export_id)
    if owner is not None:
        query = query.where(customer_exports.c.owner == owner)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def update(session: AsyncSession, export_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(sa.update(customer_exports).where(customer_exports.c.id == export_id).values(**values))


async def add_part(session: AsyncSession, export_id: uuid.UUID, kind: str, seq: int, data: bytes) -> None:
    await session.execute(sa.insert(customer_export_parts).values(export_id=export_id, kind=kind, seq=seq, data=data))


async def drop_parts(session: AsyncSession, export_id: uuid.UUID, kind: str, from_seq: int = 0) -> None:
    """Parts at or after `from_seq` (left by an attempt that died before recording them)."""
    await session.execute(sa.delete(customer_export_parts).where(
        customer_export_parts.c.export_id == export_id, customer_export_parts.c.kind == kind,
        customer_export_parts.c.seq >= from_seq,
    ))


async def part(session: AsyncSession, export_id: uuid.UUID, kind: str, seq: int) -> bytes | None:
    row = (await session.execute(sa.select(customer_export_parts.c.data).where(
        customer_export_parts.c.export_id == export_id, customer_export_parts.c.kind == kind,
        customer_export_parts.c.seq == seq,
    ))).first()
    return bytes(row.data) if row is not None else None


async def parts_size(session: AsyncSession, export_id: uuid.UUID, kind: str) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(sa.func.length(customer_export_parts.c.data)), 0)).where(
        customer_export_parts.c.export_id == export_id, customer_export_parts.c.kind == kind,
    )
    return int((await session.execute(query)).scalar_one())


async def delete_expired(session: AsyncSession) -> int:
    """Removes the files of expired exports (the rows stay, as `expired`)."""
    expired = sa.select(customer_exports.c.id).where(customer_exports.c.expires_at < sa.func.now())
    await session.execute(sa.delete(customer_export_parts).where(customer_export_parts.c.export_id.in_(expired)))
    result = await session.execute(
        sa.update(customer_exports)
        .where(customer_exports.c.expires_at < sa.func.now(), customer_exports.c.status != "expired")
        .values(status="expired")
    )
    return int(getattr(result, "rowcount", 0) or 0)
