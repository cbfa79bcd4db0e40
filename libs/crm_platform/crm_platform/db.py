"""Async SQLAlchemy 2 on psycopg 3, and the one tenancy session helper.

Tenant tables are declared with `schema=TENANT`; a tenant session maps that placeholder to the
tenant's real schema with `schema_translate_map`, so a pooled connection never carries one
tenant's search_path into another's request. Control tables use `schema=CONTROL` as is.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from psycopg import AsyncConnection as AsyncPgConnection
from psycopg import AsyncRawCursor
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import MetaData, event, exc
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.sql.dml import UpdateBase

from crm_platform.ids import tenant_schema

TENANT = "tenant"
CONTROL = "control"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Set when a transaction that wrote outbox rows commits in this process; the relay waits on it.
outbox_committed = asyncio.Event()
# Set when a transaction that queued mail commits in this process; the mail sender waits on it.
mail_committed = asyncio.Event()


def signal_commit(info: dict[str, object]) -> None:
    """Wakes the relay / mail sender after a commit whose session wrote to their tables
    (`session.info` flags set by `outbox.add_event` and `mail.Mailer.queue`)."""
    if info.get("outbox_written"):
        outbox_committed.set()
    if info.get("mail_queued"):
        mail_committed.set()


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


# A pooled connection idle for longer than this is pinged before use (see `create_engine`).
IDLE_PING_SECONDS: Final = 10.0


# Session parameters of every connection (sent in the startup packet: no round trip).
# plan_cache_mode: statements psycopg prepares (after a few runs of the same SQL) are still planned
# for each run's values, never with a generic plan: how selective a list's filters are decides its
# plan (docs/benchmarks.md); planning a simple statement costs microseconds.
CONNECTION_OPTIONS: Final = "-c plan_cache_mode=force_custom_plan"
# The connections of an engine's generic-plan pool (`DriverStatement(generic_plan=True)`): a statement
# whose plan cannot depend on its values (a read by primary key) is planned once per connection, where
# planning it anew on every run cost PostgreSQL ~5x its execution (docs/benchmarks.md, fourth pass).
GENERIC_PLAN_OPTIONS: Final = "-c plan_cache_mode=force_generic_plan"

# pool of an engine made by `create_engine` -> its generic-plan companion
_GENERIC_PLAN_POOLS: weakref.WeakKeyDictionary[Any, GenericPlanPool] = weakref.WeakKeyDictionary()


def create_engine(database_url: str | sa.URL, pool_size: int = 10, **options: Any) -> AsyncEngine:
    """The pool pings a connection before handing it out only when it has sat idle for more than
    `IDLE_PING_SECONDS` (a restarted or failed-over database is noticed at once), not on every
    checkout: under load a ping per request was a round trip per request (docs/benchmarks.md).
    A pooled engine gets a generic-plan companion (`DriverStatement`), disposed with it; it opens
    connections only when such a statement runs."""
    engine = _engine(database_url, pool_size, CONNECTION_OPTIONS, **options)
    if options.get("poolclass") is None:
        _companion_for(engine, pool_size)
    return engine


def _engine(database_url: str | sa.URL, pool_size: int, connection_options: str, **options: Any) -> AsyncEngine:
    engine = create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args={"options": connection_options},
        **options,
    )
    _ping_when_idle(engine)
    return engine


def _companion_for(engine: AsyncEngine, pool_size: int) -> None:
    def make() -> GenericPlanPool:
        companion = GenericPlanPool(engine, 2 * max(1, pool_size // 2))
        _GENERIC_PLAN_POOLS[engine.sync_engine.pool] = companion
        return companion

    current = [make()]

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def _disposed(disposed: Any) -> None:
        # Called inside `AsyncEngine.dispose()`: the companion's connections close too, and the
        # engine's recreated pool gets a fresh companion.
        current[0].close_idle()
        current[0] = make()


class GenericPlanPool:
    """An engine's companion for `DriverStatement(generic_plan=True)`: psycopg connections in
    autocommit whose prepared statements PostgreSQL plans once (`GENERIC_PLAN_OPTIONS`), connected as
    the engine connects (its dialect's connection arguments and adapters) and kept as its pool keeps
    them: at most `limit` at once, pinged before use after `IDLE_PING_SECONDS` idle, replaced after
    30 minutes, and dropped when broken or left inside a statement. Plain psycopg rather than a
    second SQLAlchemy engine: the checkout and return through an engine cost more Python than the
    read itself (docs/benchmarks.md, fourth pass)."""

    RECYCLE_SECONDS: Final = 1800.0

    def __init__(self, engine: AsyncEngine, limit: int) -> None:
        self.dialect = engine.dialect
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        self._connect = (list(cargs), {**cparams, "options": GENERIC_PLAN_OPTIONS, "autocommit": True})
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None
        self.idle: list[tuple[AsyncPgConnection[Any], float, float]] = []  # (connection, opened, idle since)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncPgConnection[Any]]:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            connection, opened = await self._checkout()
            try:
                yield connection
            finally:
                if (connection.closed or connection.broken
                        or connection.info.transaction_status != TransactionStatus.IDLE):
                    await connection.close()
                else:
                    self.idle.append((connection, opened, time.monotonic()))

    async def _checkout(self) -> tuple[AsyncPgConnection[Any], float]:
        while self.idle:
            connection, opened, idle_since = self.idle.pop()
            now = time.monotonic()
            if connection.closed or connection.broken or now - opened > self.RECYCLE_SECONDS:
                await connection.close()
                continue
            if now - idle_since >= IDLE_PING_SECONDS:
                try:
                    await connection.execute(";")  # SQLAlchemy's ping for psycopg
                except Exception:  # unusable (a restarted or failed-over database): open another
                    await connection.close()
                    continue
            return connection, opened
        cargs, cparams = self._connect
        return await AsyncPgConnection.connect(*cargs, **cparams), time.monotonic()

    def close_idle(self) -> None:
        idle, self.idle = self.idle, []
        for connection, _, _ in idle:
            connection.pgconn.finish()  # what `close` does, without needing the event loop


def generic_plan_pool(session: AsyncSession) -> GenericPlanPool | None:
    """The generic-plan companion of a read session's engine, or None when the session is not an
    autocommit read session of an engine made by `create_engine` (a statement must then run on the
    session's own connection: in a transaction it has to see what the transaction wrote)."""
    bind = session.bind
    if not isinstance(bind, AsyncEngine) or bind.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        return None
    return _GENERIC_PLAN_POOLS.get(bind.sync_engine.pool)


def _ping_when_idle(engine: AsyncEngine) -> None:
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool retries with a fresh connection
            raise exc.DisconnectionError(f"connection unusable after {IDLE_PING_SECONDS:.0f} s idle") from error


# (engine, tenant, autocommit) -> the engine bound to that tenant's schema. Making one (SQLAlchemy
# copies the options and sets up its events) cost more than a hot read's statement
# (docs/benchmarks.md); they are views of the same pool, so they are made once per tenant and kept.
# Each holds its parent engine, so an id here is never reused by another engine while cached.
_TENANT_ENGINES: dict[tuple[int, str, bool], AsyncEngine] = {}
TENANT_ENGINES_KEPT: Final = 10_000


def tenant_engine(engine: AsyncEngine, tenant_id: uuid.UUID | str, *, autocommit: bool = False) -> AsyncEngine:
    key = (id(engine.sync_engine), str(tenant_id), autocommit)
    bound = _TENANT_ENGINES.get(key)
    if bound is None:
        bound = engine.execution_options(schema_translate_map={TENANT: tenant_schema(tenant_id)})
        if autocommit:
            bound = bound.execution_options(isolation_level="AUTOCOMMIT")
        if len(_TENANT_ENGINES) >= TENANT_ENGINES_KEPT:
            _TENANT_ENGINES.clear()
        _TENANT_ENGINES[key] = bound
    return bound


@asynccontextmanager
async def tenant_session(engine: AsyncEngine, tenant_id: uuid.UUID | str) -> AsyncIterator[AsyncSession]:
    """A session bound to one tenant's schema, inside a transaction that commits on success and
    rolls back on error. Only edges (RPC handlers, event handlers, job runners) open one."""
    async with AsyncSession(tenant_engine(engine, tenant_id), expire_on_commit=False) as session:
        async with session.begin():
            yield session
        signal_commit(session.info)


async def execute_together(session: AsyncSession, statements: list[UpdateBase]) -> None:
    """INSERT / UPDATE / DELETE statements whose results nobody reads, in one round trip: all but
    the last become data-modifying CTEs of the last (PostgreSQL runs each exactly once). They see
    the same snapshot, so none may depend on another's rows (each may on earlier statements')."""
    *first, last = statements
    await session.execute(last.add_cte(*(s.cte(f"together_{i}") for i, s in enumerate(first))) if first else last)


@asynccontextmanager
async def tenant_read_session(engine: AsyncEngine, tenant_id: uuid.UUID | str) -> AsyncIterator[AsyncSession]:
    """For read-only RPCs: a session bound to one tenant's schema on a connection in autocommit, so a
    read that is one statement costs one round trip (no BEGIN, no COMMIT). Each statement sees the
    data committed when it starts, as in a READ COMMITTED transaction; nothing may be written here.
    A session that never used a connection (GetCustomer's read runs on the generic-plan pool) holds
    nothing to release, so it is not closed: closing runs in a task of its own (SQLAlchemy's
    `_run_to_completion`), one more turn of the event loop per request."""
    session = AsyncSession(tenant_engine(engine, tenant_id, autocommit=True), expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction() or session.sync_session.identity_map:
            await session.__aexit__(None, None, None)  # what `async with` does


@asynccontextmanager
async def control_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for service-wide tables only (outbox, inbox, jobs, tenant registry)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        async with session.begin():
            yield session
        signal_commit(session.info)


def json_rows(name: str, columns: Sequence[tuple[str, Any]]) -> sa.TableValuedAlias:
    """`jsonb_to_recordset(:name) AS name(col_1 type_1, ..., ordinality bigint)`: many rows
    sent as one JSON parameter (`json_rows_param`). The statement's text does not grow with the
    rows, so SQLAlchemy compiles it once and psycopg parses it once (a multi-row VALUES list of
    3,000 rows is new text psycopg re-parses on every call, ~10 ms each); one json.dumps of every
    row costs less than adapting a parameter per value or text arrays (escaped in Python).
    `ordinality` numbers the rows in the order given (order by it)."""
    document = sa.cast(sa.bindparam(name, type_=sa.Text), pg.JSONB)
    return sa.func.jsonb_to_recordset(document).table_valued(
        *(sa.column(column, type_) for column, type_ in columns), sa.column("ordinality", sa.BigInteger), name=name,
    ).render_derived(with_types=True)


def _json_value(value: object) -> str:
    if isinstance(value, uuid.UUID | datetime):
        return str(value)  # PostgreSQL reads both back from their text forms
    raise TypeError(f"{type(value).__name__} in json_rows")


def json_rows_param(name: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The parameter of `json_rows(name, ...)`: every row a mapping of the columns (values: JSON
    types, UUIDs, aware datetimes; a dict or list for a `jsonb` column)."""
    numbered = [{**row, "ordinality": number} for number, row in enumerate(rows)]
    return {name: json.dumps(numbered, default=_json_value, separators=(",", ":"))}


class DriverStatement:
    """A statement built once and run on the session's psycopg connection itself, past
    SQLAlchemy's execution layers (cache key, compiled cache lookup, execution context, result and
    Row objects): for hot reads, where those cost more than PostgreSQL's work (docs/benchmarks.md,
    "API hot paths"). The SQL is SQLAlchemy's own, compiled once per tenant schema, its parameters
    put through SQLAlchemy's bind processors and the columns through its result processors (the
    few types that have one for this dialect, found on the first run), as an execution would. Rows
    are named tuples of the statement's column names. It runs in the session's connection and
    transaction (an autocommit read session: one round trip), prepared by psycopg.

    `generic_plan`: the statement's plan cannot depend on its values (a read by primary key), so in an
    autocommit read session it runs on a connection of the engine's generic-plan companion
    (`create_engine`), where PostgreSQL plans it once per connection instead of on every run
    (`CONNECTION_OPTIONS` force a plan per run, for the list's filters). In autocommit a statement
    sees what is committed when it starts on any connection, so the rows are the same; in a
    transaction it runs on the session's connection as any other."""

    def __init__(self, statement: sa.Select[Any], *, required: Sequence[str], generic_plan: bool = False) -> None:
        """`required`: the names of the bound parameters each run gives (they have no value here)."""
        self.statement = statement.params(dict.fromkeys(required))
        self.generic_plan = generic_plan
        self._compiled: dict[str | None, _DriverSql] = {}

    def _compile(self, dialect: sa.Dialect, schema: str | None) -> _DriverSql:
        # `$1` placeholders, run by a raw cursor: psycopg converts `%(name)s` queries longer than 4 kB
        # (these are) again on every run.
        numbered = _NUMBERED_DIALECTS.get(type(dialect))
        if numbered is None:
            numbered = _NUMBERED_DIALECTS[type(dialect)] = type(dialect)(paramstyle="numeric_dollar")  # type: ignore[call-arg]
        translate = {TENANT: schema} if schema is not None else None
        compiled = self.statement.compile(dialect=numbered, schema_translate_map=translate,
                                          render_schema_translate=translate is not None)
        state = compiled.construct_expanded_state(compiled.construct_params(_check=False))
        processors: dict[str, Any] = {name: processor for name, processor in compiled._bind_processors.items()
                                      if processor}
        defaults = {name: processors[name](value) if name in processors else value
                    for name, value in state.parameters.items()}
        return _DriverSql(state.statement, defaults, processors, [entry.type for entry in compiled._result_columns],
                          tuple(state.positiontup or ()))

    async def rows(self, session: AsyncSession, values: Mapping[str, Any]) -> list[Any]:
        companion = generic_plan_pool(session) if self.generic_plan else None
        if companion is not None:
            schema = (session.bind.get_execution_options().get("schema_translate_map") or {}).get(TENANT)  # type: ignore[union-attr]
            async with companion.connection() as pooled:
                return await self._run(pooled, companion.dialect, schema, values)
        connection = await session.connection()
        options = connection.sync_connection.get_execution_options()  # type: ignore[union-attr]
        driver = (await connection.get_raw_connection()).driver_connection
        return await self._run(driver, connection.dialect, (options.get("schema_translate_map") or {}).get(TENANT),
                               values)

    async def _run(self, driver: Any, dialect: sa.Dialect, schema: str | None, values: Mapping[str, Any]) -> list[Any]:
        known = self._compiled.get(schema)
        sql = known or self._compile(dialect, schema)
        parameters = sql.defaults | {name: sql.processors[name](value) if name in sql.processors else value
                                     for name, value in values.items()}
        async with AsyncRawCursor(driver, row_factory=namedtuple_row) as cursor:
            await cursor.execute(sql.text, [parameters[name] for name in sql.order], prepare=True)
            if known is None:  # the first run in this schema: the columns' types as PostgreSQL sent them
                sql.results.extend(
                    (index, processor) for index, (column, kind) in enumerate(
                        zip(cursor.description or (), sql.types, strict=True))
                    if (processor := kind._cached_result_processor(dialect, column.type_code)) is not None)
                if len(self._compiled) >= TENANT_ENGINES_KEPT:
                    self._compiled.clear()
                self._compiled[schema] = sql
            rows = await cursor.fetchall()
        if not sql.results:
            return rows
        return [_processed(row, sql.results) for row in rows]


def _processed(row: Any, processors: list[tuple[int, Any]]) -> Any:
    values = list(row)
    for index, processor in processors:
        values[index] = processor(values[index])
    return row._make(values)


_NUMBERED_DIALECTS: dict[type[sa.Dialect], sa.Dialect] = {}


@dataclass(frozen=True)
class _DriverSql:
    text: str
    defaults: dict[str, Any]
    processors: dict[str, Any]
    types: list[Any]
    order: tuple[str, ...]  # the parameters' names for $1, $2, ...
    # (column index, SQLAlchemy's result processor), found on the first run
    results: list[tuple[int, Any]] = field(default_factory=list)
