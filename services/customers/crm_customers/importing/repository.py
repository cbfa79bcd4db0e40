"""Every SQL statement of the customer import (tables from migration c0120). Bulk rows go in
with COPY on the session's own connection (so in its transaction): at a million rows an INSERT
per row, or even multi-row INSERTs, cost more than everything else together."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import customers, metadata
from crm_customers.duplicates import keys as match
from crm_customers.duplicates.tables import match_keys
from crm_platform.db import TENANT

customer_imports = sa.Table(
    "customer_imports",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("encoding", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("file_parts", sa.Integer, nullable=False),
    sa.Column("header", pg.JSONB, nullable=False),
    sa.Column("mapping", pg.JSONB, nullable=False),
    sa.Column("duplicate_mode", sa.Text, nullable=False),
    sa.Column("principal", pg.JSONB, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("job_id", pg.UUID(as_uuid=True)),
    sa.Column("phase", sa.Text, nullable=False),
    sa.Column("total_rows", sa.BigInteger, nullable=False),
    sa.Column("processed", sa.BigInteger, nullable=False),
    sa.Column("cursor", sa.BigInteger, nullable=False),
    sa.Column("error_rows", sa.BigInteger, nullable=False),
    sa.Column("duplicate_rows", sa.BigInteger, nullable=False),
    sa.Column("created_count", sa.BigInteger, nullable=False),
    sa.Column("updated_count", sa.BigInteger, nullable=False),
    sa.Column("skipped_count", sa.BigInteger, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("validated_at", sa.DateTime(timezone=True)),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("undone_at", sa.DateTime(timezone=True)),
    sa.Column("undone_by", sa.Text, nullable=False),
    sa.Column("undo_cursor", pg.UUID(as_uuid=True)),
    schema=TENANT,
)

import_parts = sa.Table(
    "customer_import_parts",
    metadata,
    sa.Column("import_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    schema=TENANT,
)

import_problems = sa.Table(
    "customer_import_problems",
    metadata,
    sa.Column("import_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("row", sa.BigInteger, primary_key=True),
    sa.Column("column", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("level", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    schema=TENANT,
)

import_changes = sa.Table(
    "customer_import_changes",
    metadata,
    sa.Column("import_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("before", pg.JSONB),
    schema=TENANT,
)

# The dry run's checked rows per batch (migration c0250), read by the import instead of the file.
import_checked = sa.Table(
    "customer_import_checked",
    metadata,
    sa.Column("import_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("batch", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("last", sa.Boolean, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    schema=TENANT,
)

_i = customer_imports.c


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(customer_imports).values(**values).returning(customer_imports))).one()


async def get(session: AsyncSession, import_id: uuid.UUID, *, lock: bool = False) -> sa.Row[Any] | None:
    query = sa.select(customer_imports).where(_i.id == import_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def update(session: AsyncSession, import_id: uuid.UUID, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(
        sa.update(customer_imports).where(_i.id == import_id).values(**values).returning(customer_imports)
    )).one()


async def recent(session: AsyncSession, created_by: str | None, limit: int) -> list[sa.Row[Any]]:
    query = sa.select(customer_imports).order_by(_i.created_at.desc()).limit(limit)
    if created_by is not None:
        query = query.where(_i.created_by == created_by)
    return list(await session.execute(query))


async def add_part(session: AsyncSession, import_id: uuid.UUID, seq: int, data: bytes) -> None:
    await session.execute(sa.insert(import_parts).values(import_id=import_id, seq=seq, data=data))


async def parts(session: AsyncSession, import_id: uuid.UUID) -> Any:
    """The file's parts in order, streamed (one part in memory at a time)."""
    result = await session.stream(sa.select(import_parts.c.data).where(import_parts.c.import_id == import_id)
                                  .order_by(import_parts.c.seq))
    async for row in result:
        yield bytes(row.data)


async def clear_problems(session: AsyncSession, import_id: uuid.UUID) -> None:
    await session.execute(sa.delete(import_problems).where(import_problems.c.import_id == import_id))


async def problems_page(session: AsyncSession, import_id: uuid.UUID, after: tuple[int, str, str] | None,
                        limit: int) -> list[sa.Row[Any]]:
    p = import_problems.c
    query: sa.Select[Any] = (sa.select(import_problems).where(p.import_id == import_id)
                             .order_by(p.row, p.column, p.code).limit(limit))
    if after is not None:
        query = query.where(sa.tuple_(p.row, p.column, p.code) > sa.tuple_(*after))
    return list(await session.execute(query))


async def all_problems(session: AsyncSession, import_id: uuid.UUID) -> list[sa.Row[Any]]:
    p = import_problems.c
    return list(await session.execute(sa.select(p.row, p.column, p.code, p.level, p.detail)
                                      .where(p.import_id == import_id).order_by(p.row, p.column)))


async def clear_checked(session: AsyncSession, import_id: uuid.UUID) -> None:
    await session.execute(sa.delete(import_checked).where(import_checked.c.import_id == import_id))


async def add_checked(session: AsyncSession, import_id: uuid.UUID, batch: int, fingerprint: str, rows: int,
                      last: bool, data: bytes) -> None:
    await session.execute(sa.insert(import_checked).values(import_id=import_id, batch=batch, fingerprint=fingerprint,
                                                           rows=rows, last=last, data=data))


async def checked_summary(session: AsyncSession, import_id: uuid.UUID) -> tuple[int, int, set[str]]:
    """(batches, the last batch's number or -1, fingerprints) of an import's stored batches."""
    k = import_checked.c
    row = (await session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(k.batch).filter(k.last), -1),
                  sa.func.array_agg(sa.distinct(k.fingerprint))).where(k.import_id == import_id))).one()
    return int(row[0]), int(row[1]), set(row[2] or ())


async def checked_batch(session: AsyncSession, import_id: uuid.UUID, batch: int) -> bytes:
    k = import_checked.c
    return bytes((await session.execute(
        sa.select(k.data).where(k.import_id == import_id, k.batch == batch))).scalar_one())


async def _driver(session: AsyncSession) -> tuple[Any, str]:
    """The session's psycopg connection (its transaction) and the tenant's schema."""
    connection = await session.connection()
    assert connection.sync_connection is not None
    schema = connection.sync_connection.get_execution_options().get("schema_translate_map", {}).get(TENANT)
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None and schema
    return driver, schema


async def copy_rows(session: AsyncSession, table: sa.Table, names: Sequence[str], records: Iterable[Sequence[Any]]
                    ) -> None:
    """COPY into a tenant table on the session's connection (its transaction)."""
    driver, schema = await _driver(session)
    columns_sql = ", ".join(f'"{n}"' for n in names)
    statement = f'COPY "{schema}"."{table.name}" ({columns_sql}) FROM STDIN'
    async with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for record in records:
            await copy.write_row(record)


def text_array(values: Sequence[str]) -> str:
    """A text[] literal for COPY: psycopg's list dumper was ~10% of the importing process (cProfile;
    three arrays per created customer), this ~1 us. Every element quoted; backslash and double
    quote escaped (PostgreSQL's array input); COPY's own escaping is psycopg's."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


# Besides the customers' own columns, a staged row carries its status history row's id and its
# exact match keys (duplicates/keys.py `exact_keys`) as two parallel arrays.
STAGE_EXTRA: Final = ("history_id", "key_kinds", "key_values")


async def stage_customers(session: AsyncSession, names: Sequence[str], records: Iterable[Sequence[Any]]) -> None:
    """COPY created customers into an unindexed temporary table (dropped at commit): one row per
    customer crosses from Python, `merge_staged` makes the rest in PostgreSQL."""
    driver, schema = await _driver(session)
    own = ", ".join(f'"{n}"' for n in names)
    async with driver.cursor() as cursor:
        await cursor.execute(f'CREATE TEMPORARY TABLE import_stage ON COMMIT DROP AS SELECT {own}, '
                             "NULL::uuid AS history_id, NULL::text[] AS key_kinds, NULL::text[] AS key_values "
                             f'FROM "{schema}".customers WITH NO DATA')
        columns_sql = ", ".join(f'"{n}"' for n in (*names, *STAGE_EXTRA))
        async with cursor.copy(f"COPY pg_temp.import_stage ({columns_sql}) FROM STDIN") as copy:
            for record in records:
                await copy.write_row(record)


async def merge_staged(session: AsyncSession, names: Sequence[str], import_id: uuid.UUID) -> None:
    """The staged customers into `customers` with one INSERT ... SELECT, then their status history,
    match keys, name neighbourhoods and the undo log, each one INSERT ... SELECT. The `name_del` keys
    (a name key with one character deleted, every way, on its first MAX_FUZZY_LEN characters, when it
    has at least MIN_FUZZY_LEN; one array per customer, migration c0252) are made here, as
    duplicates/keys.py `deletions` makes them
    (tests/customers/test_imports.py compares the stored keys with `keys_of`)."""
    driver, schema = await _driver(session)
    own = ", ".join(f'"{n}"' for n in names)
    async with driver.cursor() as cursor:
        await cursor.execute(f'INSERT INTO "{schema}".customers ({own}) SELECT {own} FROM pg_temp.import_stage')
        await cursor.execute(
            f'INSERT INTO "{schema}".status_history (id, customer_id, from_status, to_status, reason, changed_by, '
            "changed_at) SELECT history_id, id, '', status, '', created_by, created_at FROM pg_temp.import_stage")
        await cursor.execute(f"""
            INSERT INTO "{schema}".customer_match_keys (customer_id, kind, value)
            SELECT DISTINCT s.id, k.kind, k.value
            FROM pg_temp.import_stage AS s, unnest(s.key_kinds, s.key_values) AS k(kind, value)""")
        await cursor.execute(f"""
            INSERT INTO "{schema}".customer_name_deletions (customer_id, deletions)
            SELECT n.id, ARRAY(SELECT DISTINCT left(n.t, i - 1) || substr(n.t, i + 1)
                               FROM generate_series(1, length(n.t)) AS i ORDER BY 1)
            FROM (SELECT s.id, left(k.value, {match.MAX_FUZZY_LEN}) AS t
                  FROM pg_temp.import_stage AS s, unnest(s.key_kinds, s.key_values) AS k(kind, value)
                  WHERE k.kind = 'name' AND length(k.value) >= {match.MIN_FUZZY_LEN}) AS n""")
        await cursor.execute(f'INSERT INTO "{schema}".customer_import_changes (import_id, customer_id, action, '
                             "before) SELECT %s, id, 'created', NULL FROM pg_temp.import_stage", (import_id,))
        await cursor.execute("DROP TABLE pg_temp.import_stage")


async def existing_keys(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    """Live customers holding each (kind, value): codes from customers, the rest from the match
    keys duplicate detection keeps; (kind, value) -> [customer id, ...].

    Index lookups only (`= ANY(array)` on uq_customers_code, ix_customer_match_keys_kind_value and
    the primary key), with sequential scans priced out for these statements: an import that grows
    the tables faster than autovacuum analyses them left the planner with the default selectivity
    of `deleted_at IS NULL AND merged_into IS NULL` (1 row of 20,000), and a join driven by a scan
    of every customer took 1.5-9 s per batch of 2,000 keys instead of ~15 ms (docs/benchmarks.md)."""
    found: dict[tuple[str, str], list[Any]] = {}
    c = customers.c
    m = match_keys.c
    values_param = sa.bindparam("values", type_=pg.ARRAY(sa.Text))
    previous = (await session.execute(sa.text("SELECT current_setting('enable_seqscan')"))).scalar_one()
    await session.execute(sa.text("SELECT set_config('enable_seqscan', 'off', true)"))
    try:
        wanted_codes = sorted({v for k, v in keys if k == "code"})
        if wanted_codes:
            query = sa.select(c.id, c.code).where(c.code == sa.any_(values_param), c.deleted_at.is_(None),
                                                  c.merged_into.is_(None))
            for row in await session.execute(query, {"values": wanted_codes}):
                found.setdefault(("code", row.code), []).append(row.id)
        by_kind: dict[str, set[str]] = {}
        for kind, value in keys:
            if kind != "code":
                by_kind.setdefault(kind, set()).add(value)
        hits: list[tuple[str, str, uuid.UUID]] = []
        for kind, values in sorted(by_kind.items()):
            query = sa.select(m.value, m.customer_id).where(m.kind == kind, m.value == sa.any_(values_param))
            rows = await session.execute(query, {"values": sorted(values)})
            hits += [(kind, hit.value, hit.customer_id) for hit in rows]
        if hits:
            ids = sorted({customer_id for _, _, customer_id in hits})
            live = set((await session.execute(
                sa.select(c.id).where(c.id == sa.any_(sa.bindparam("ids", type_=pg.ARRAY(pg.UUID(as_uuid=True)))),
                                      c.deleted_at.is_(None), c.merged_into.is_(None)), {"ids": ids})).scalars())
            for kind, value, customer_id in hits:
                if customer_id in live:
                    found.setdefault((kind, value), []).append(customer_id)
    finally:
        await session.execute(sa.text("SELECT set_config('enable_seqscan', :previous, true)"), {"previous": previous})
    return found


async def visible(session: AsyncSession, ids: Sequence[uuid.UUID], scope: sa.ColumnElement[bool] | None
                  ) -> set[uuid.UUID]:
    if not ids:
        return set()
    query = sa.select(customers.c.id).where(customers.c.id.in_(ids))
    if scope is not None:
        query = query.where(scope)
    return set((await session.execute(query)).scalars())


async def customers_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    if not ids:
        return []
    return list(await session.execute(sa.select(customers).where(customers.c.id.in_(ids))))


async def changes_page(session: AsyncSession, import_id: uuid.UUID, after: uuid.UUID | None, limit: int
                       ) -> list[sa.Row[Any]]:
    ch = import_changes.c
    query = sa.select(import_changes).where(ch.import_id == import_id).order_by(ch.customer_id).limit(limit)
    if after is not None:
        query = query.where(ch.customer_id > after)
    return list(await session.execute(query))
