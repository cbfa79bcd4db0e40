"""The analytics store (ClickHouse or chDB) behind one interface, and the tenant-safe builder."""

from __future__ import annotations

from pathlib import Path

from crm_reporting.analytics.backend import Analytics, AnalyticsError, Row
from crm_reporting.analytics.query import TenantQuery, UnsafeFragment
from crm_reporting.analytics.tables import Column, TenantTable


async def open_analytics(*, chdb_path: Path | None, clickhouse_url: str | None) -> Analytics:
    """A ClickHouse server when a URL is configured, else chDB in `chdb_path`."""
    if clickhouse_url:
        from crm_reporting.analytics.clickhouse_backend import ClickHouseAnalytics

        return await ClickHouseAnalytics.connect(clickhouse_url)
    if chdb_path is None:
        raise ValueError("either a chDB path or a ClickHouse URL is required")
    from crm_reporting.analytics.chdb_backend import ChdbAnalytics

    return await ChdbAnalytics.open(chdb_path)


__all__ = [
    "Analytics",
    "AnalyticsError",
    "Column",
    "Row",
    "TenantQuery",
    "TenantTable",
    "UnsafeFragment",
    "open_analytics",
]
