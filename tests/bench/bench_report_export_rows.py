"""The XLSX export's raw records read from ClickHouse (issue 15, "Exports"): `engine.underlying_source`
(the report compiled with the viewer's scope, one row per customer with its lifetime value joined,
read in pages of 50,000 by the writer's thread) written into the XLSX with its PivotTable, against
a same-run baseline writing the same number of generated rows (no ClickHouse) through the same
writer. Data as bench_report_pivot.py generates it, straight into chDB.

    nice -n 10 .venv/bin/python -m tests.bench.bench_report_export_rows --scale 0.1  # 100,000 customers

Printed: rows, wall seconds, CPU seconds of the process, and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
import uuid
from pathlib import Path

from crm_dev.infra import EmbeddedPostgres, free_port
from crm_platform import migrations
from crm_platform.auth import Principal
from crm_platform.db import create_engine, tenant_session
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.main import ANALYTICS_TABLES, DEFINITION
from crm_reporting.reports import engine as report_engine
from crm_reporting.reports.definition import check_definition
from crm_reporting.reports.files.render import write_report_file
from crm_reporting.reports.result import UnderlyingRows
from tests.bench.bench_dashboards import TENANT, customers_sql, orders_sql, settle_orders, status_sql

REPORT = {"object": "customers", "rows": [{"field": "industry"}], "column": {"field": "status"},
          "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}]}


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main_async(scale: float) -> None:
    customers, orders = int(1_000_000 * scale), int(10_000_000 * scale)
    base = Path(tempfile.mkdtemp(prefix="bench-export-rows-"))
    analytics = await ChdbAnalytics.open(base / "chdb")
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    engine = None
    try:
        await ensure_schema(analytics, ANALYTICS_TABLES)
        started = time.monotonic()
        for sql in (customers_sql(customers), status_sql(), orders_sql(orders, customers)):
            await analytics._run(analytics._execute, sql)  # bench data, straight into the engine
        print(f"chDB: {customers:,} customers, {orders:,} orders loaded in {time.monotonic() - started:.1f} s",
              flush=True)
        postgres.create_database("bench")
        service_url = postgres.url("bench")
        migrations.upgrade_control(service_url, DEFINITION.control_tree)
        migrations.upgrade_tenant(service_url, DEFINITION.tenant_tree, TENANT)
        engine = create_engine(service_url, pool_size=2)
        await settle_orders(analytics)
        principal = Principal(subject="bench", tenant_id=TENANT, client_id="bench", user_id=uuid.uuid4(),
                              scopes=frozenset({"reports:read"}))
        request = report_engine.RunRequest(check_definition(REPORT), title="Bench", time_zone="Asia/Shanghai")
        async with tenant_session(engine, TENANT) as session:
            result = await report_engine.run(analytics, session, principal, request)
            underlying, source = await report_engine.underlying_source(analytics, session, principal, request)

        def write(rows: UnderlyingRows, name: str) -> int:
            with (base / name).open("wb") as out:
                return write_report_file("xlsx", result, rows, out, source=source)

        print(f"\n{'what':44} {'rows':>9} {'wall s':>7} {'CPU s':>7} {'peak RSS MiB':>13}")
        before_wall, before_cpu = time.perf_counter(), cpu()
        count = await asyncio.to_thread(write, underlying, "records.xlsx")
        print(f"{'raw records from chDB (underlying_source)':44} {count:9,d} {time.perf_counter() - before_wall:7.1f} "
              f"{cpu() - before_cpu:7.1f} {peak_mib():13.0f}", flush=True)
        generated = UnderlyingRows(underlying.columns, (
            [str(uuid.UUID(int=i)), f"客户{i}", "IT", "Won", i % 1000] for i in range(count)))
        before_wall, before_cpu = time.perf_counter(), cpu()
        await asyncio.to_thread(write, generated, "generated.xlsx")
        print(f"{'baseline: the same count of generated rows':44} {count:9,d} "
              f"{time.perf_counter() - before_wall:7.1f} {cpu() - before_cpu:7.1f} {peak_mib():13.0f}", flush=True)
    finally:
        if engine is not None:
            await engine.dispose()
        await analytics.close()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1,
                        help="1.0 = 1,000,000 customers and 10,000,000 orders; 0.1 = a tenth")
    args = parser.parse_args()
    asyncio.run(main_async(args.scale))


if __name__ == "__main__":
    main()
