"""chDB: ClickHouse in-process, persisted in a data directory (the one-machine default).

chDB is synchronous and allows one embedded engine (one data path) per process, so every call
runs on one dedicated thread: calls never block the event loop and never overlap. A stream (`stream`)
is the exception: it runs on a connection of its own to the same engine, read by the caller's
worker thread, because any other query on the session ends the streaming query open on it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar

import chdb
from chdb.session import Session
from clickhouse_connect.driver.binding import format_bind_value

from crm_reporting.analytics.backend import (
    BOUNDED_SETTINGS,
    JSON_OUTPUT_SETTINGS,
    PARTITION_KEY_SQL,
    STREAM_SETTINGS,
    AnalyticsError,
    Row,
    build_delete,
    build_query,
    check_ddl,
    decode_compact,
    decode_rows,
    encode_rows,
    settings_clause,
)
from crm_reporting.analytics.query import TenantDelete, TenantQuery
from crm_reporting.analytics.tables import TenantTable

T = TypeVar("T")


def bind_params(params: dict[str, Any]) -> dict[str, str]:
    """chDB reads `{name:Type}` values as escaped text, exactly as a ClickHouse server reads
    `param_<name>` from HTTP; clickhouse-connect's encoder for that is reused rather than
    re-implemented (a backslash or newline in a value would otherwise be altered)."""
    return {name: str(format_bind_value(value, UTC)) for name, value in params.items()}


class ChdbAnalytics:
    def __init__(self, path: Path):
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chdb")
        self._session: Session | None = None

    @classmethod
    async def open(cls, path: Path) -> ChdbAnalytics:
        analytics = cls(path)
        await analytics._run(analytics._open_session)
        return analytics

    def _open_session(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        session = Session(str(self.path.resolve()))
        for name, value in JSON_OUTPUT_SETTINGS.items():
            session.query(f"SET {name} = {int(value)}")
        self._session = session

    def _connected(self) -> Session:
        if self._session is None:
            raise AnalyticsError("the chDB session is closed")
        return self._session

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, functools.partial(fn, *args, **kwargs))
        except RuntimeError as exc:  # chdb raises ChdbError, a RuntimeError, for engine errors
            raise AnalyticsError(str(exc)) from exc

    def _execute(self, sql: str, fmt: str = "CSV", params: dict[str, str] | None = None) -> bytes:
        result = self._connected().query(sql, fmt, params=params)
        data: bytes = result.bytes()
        return data

    async def insert(self, table: TenantTable, rows: list[Row]) -> None:
        if not rows:
            return
        # The rows follow the FORMAT clause as data: the JSONEachRow reader parses them, the SQL
        # parser never sees them.
        payload = encode_rows(table, rows)
        await self._run(self._execute, f"INSERT INTO {table.name} FORMAT JSONEachRow\n{payload}")

    async def query(self, builder: TenantQuery, *, bounded: bool = False) -> list[Row]:
        built = build_query(builder)
        sql = built.sql + settings_clause(BOUNDED_SETTINGS) if bounded else built.sql
        raw = await self._run(self._execute, sql, "JSONEachRow", bind_params(built.params))
        return decode_rows(raw)

    def stream(self, builder: TenantQuery) -> Iterator[list[Any]]:
        built = build_query(builder)
        self._connected()
        try:
            connection = chdb.connect(str(self.path.resolve()))
        except RuntimeError as exc:
            raise AnalyticsError(str(exc)) from exc
        try:
            for name, value in STREAM_SETTINGS.items():
                connection.query(f"SET {name} = {value!r}")
            result = connection.send_query(built.sql, "JSONCompactEachRow", params=bind_params(built.params))
            try:
                yield from decode_compact(chunk.bytes() for chunk in result)
            finally:
                result.close()
        except RuntimeError as exc:  # ChdbError
            raise AnalyticsError(str(exc)) from exc
        finally:
            connection.close()

    async def command(self, sql: str) -> None:
        check_ddl(sql)
        await self._run(self._execute, sql)

    async def partition_key(self, table_name: str) -> str | None:
        raw = await self._run(self._execute, PARTITION_KEY_SQL, "JSONEachRow", bind_params({"table_name": table_name}))
        rows = decode_rows(raw)
        return str(rows[0]["partition_key"]) if rows else None

    async def delete_tenant(self, delete: TenantDelete) -> None:
        built = build_delete(delete)
        await self._run(self._execute, built.sql, "CSV", bind_params(built.params))

    async def close(self) -> None:
        if self._session is not None:
            await self._run(self._session.close)
            self._session = None
        self._thread.shutdown(wait=True)
