"""An Analytics that can be wired before it is opened.

The runtime registers servicers before it runs the start hook, and opening the store is async
(a thread hop for chDB, a connection for ClickHouse), so the servicer and the consumer get this
stand-in at registration and the start hook opens the real backend behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crm_reporting.analytics.backend import Analytics, AnalyticsError, Row
from crm_reporting.analytics.query import TenantDelete, TenantQuery
from crm_reporting.analytics.tables import TenantTable


class PendingAnalytics:
    def __init__(self) -> None:
        self._backend: Analytics | None = None

    def attach(self, backend: Analytics) -> None:
        if self._backend is not None:
            raise RuntimeError("an analytics backend is already attached")
        self._backend = backend

    @property
    def backend(self) -> Analytics:
        if self._backend is None:
            raise AnalyticsError("the analytics store is not open yet")
        return self._backend

    async def insert(self, table: TenantTable, rows: list[Row]) -> None:
        await self.backend.insert(table, rows)

    async def query(self, builder: TenantQuery, *, bounded: bool = False) -> list[Row]:
        return await self.backend.query(builder, bounded=bounded)

    def stream(self, builder: TenantQuery) -> Iterator[list[Any]]:
        return self.backend.stream(builder)

    async def command(self, sql: str) -> None:
        await self.backend.command(sql)

    async def partition_key(self, table_name: str) -> str | None:
        return await self.backend.partition_key(table_name)

    async def delete_tenant(self, delete: TenantDelete) -> None:
        await self.backend.delete_tenant(delete)

    async def close(self) -> None:
        if self._backend is not None:
            await self._backend.close()
            self._backend = None
