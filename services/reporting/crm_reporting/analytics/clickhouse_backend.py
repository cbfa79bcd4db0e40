"""A ClickHouse server through clickhouse-connect (production).

The synchronous client runs in worker threads (its HTTP pool is thread-safe, and no server
session is used, so concurrent calls do not contend); clickhouse-connect binds `{name:Type}`
placeholders server-side.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

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
)
from crm_reporting.analytics.query import TenantDelete, TenantQuery
from crm_reporting.analytics.tables import TenantTable

T = TypeVar("T")


class ClickHouseAnalytics:
    def __init__(self, client: Client):
        self._client = client

    @classmethod
    async def connect(cls, url: str) -> ClickHouseAnalytics:
        """`url` is a clickhouse-connect DSN, e.g. http://user:password@host:8123/crm_reporting;
        the database in its path must exist (operators create it with the server)."""
        client = await asyncio.to_thread(
            clickhouse_connect.get_client, dsn=url, autogenerate_session_id=False
        )
        return cls(client)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except ClickHouseError as exc:
            raise AnalyticsError(str(exc)) from exc

    async def insert(self, table: TenantTable, rows: list[Row]) -> None:
        if not rows:
            return
        payload = encode_rows(table, rows).encode()
        await self._run(self._client.raw_insert, table.name, None, insert_block=payload, fmt="JSONEachRow")

    async def query(self, builder: TenantQuery, *, bounded: bool = False) -> list[Row]:
        built = build_query(builder)
        raw = await self._run(
            self._client.raw_query, built.sql, parameters=built.params, fmt="JSONEachRow",
            settings={**JSON_OUTPUT_SETTINGS, **(BOUNDED_SETTINGS if bounded else {})},
        )
        return decode_rows(raw)

    def stream(self, builder: TenantQuery) -> Iterator[list[Any]]:
        built = build_query(builder)
        try:
            # The synchronous client's stream is a file-like of bytes (the async client's differs).
            raw = cast(io.IOBase, self._client.raw_stream(built.sql, parameters=built.params,
                                                          fmt="JSONCompactEachRow", settings=dict(STREAM_SETTINGS)))
            try:
                yield from decode_compact(raw)
            finally:
                raw.close()
        except ClickHouseError as exc:
            raise AnalyticsError(str(exc)) from exc

    async def command(self, sql: str) -> None:
        check_ddl(sql)
        await self._run(self._client.command, sql)

    async def partition_key(self, table_name: str) -> str | None:
        raw = await self._run(self._client.raw_query, PARTITION_KEY_SQL, parameters={"table_name": table_name},
                              fmt="JSONEachRow")
        rows = decode_rows(raw)
        return str(rows[0]["partition_key"]) if rows else None

    async def delete_tenant(self, delete: TenantDelete) -> None:
        built = build_delete(delete)
        await self._run(self._client.command, built.sql, parameters=built.params)

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)
