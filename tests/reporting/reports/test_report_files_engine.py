"""The report files made from what the real pivot engine returns (chDB and Postgres): every format
renders the engine's PivotResult; the XLSX's data sheet holds the raw records the pivot counts (one
row per customer, under the viewer's data scope and field policies), and the native PivotTable that
LibreOffice computes over them gives the engine's totals."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.reports import engine as report_engine
from crm_reporting.reports.definition import check_definition
from crm_reporting.reports.engine import RunRequest
from crm_reporting.reports.files.render import write_report_file
from crm_reporting.reports.files.xlsx_file import PivotSource
from crm_reporting.reports.result import PivotResult
from crm_reporting.scope.service import ReportScope
from tests.reporting.dashboards.test_panels import REP_A, TODAY, World
from tests.reporting.reports.test_report_engine import run, who, world  # noqa: F401 - the fixture
from tests.reporting.reports.test_report_files import _soffice

DEFINITION = {
    "object": "customers", "rows": [{"field": "region", "level": 1}, {"field": "industry"}],
    "column": {"field": "status"},
    "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}], "chart": "bar",
}


async def _files(engine: AsyncEngine, analytics: ChdbAnalytics, principal: Principal, definition: dict[str, Any],
                 path: Path, scope: ReportScope | None = None) -> tuple[PivotResult, PivotSource, int]:
    request = RunRequest(check_definition(definition), title="T", locale="zh-CN", time_zone="Asia/Shanghai",
                         today=TODAY)
    async with tenant_session(engine, principal.tenant_id) as session:
        result = await report_engine.run(analytics, session, principal, request, scope=scope)
        underlying, source = await report_engine.underlying_source(analytics, session, principal, request,
                                                                   scope=scope)

    def write() -> int:
        with path.open("wb") as handle:
            return write_report_file("xlsx", result, underlying, handle, source=source)

    return result, source, await asyncio.to_thread(write)


def _data_sheet(path: Path) -> tuple[list[str], list[list[Any]]]:
    book = openpyxl.load_workbook(path)
    sheet = book["数据"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    return [str(h) for h in rows[0]], rows[1:]


async def test_every_file_renders_the_engines_result(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                                      world: World, tmp_path: Path) -> None:  # noqa: F811
    result = await run(engine, chdb_analytics, who(world.tenant), DEFINITION, locale="zh-CN")
    grand = next(c for c in result.cells if all(v is None for v in c.rows) and c.column is None)

    out = io.BytesIO()
    write_report_file("csv", result, None, out)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert rows[0][:2] == [d.label for d in result.rows]
    assert rows[-1][0] == "总计"
    assert rows[-1][-2] == str(grand.values[0])  # the total across columns, count

    pdf = io.BytesIO()
    write_report_file("pdf", result, None, pdf)
    assert pdf.getvalue().startswith(b"%PDF")


async def test_xlsx_data_sheet_holds_the_raw_records_and_its_pivot_table_gives_the_engines_totals(
        engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "engine.xlsx"
    result, source, count = await _files(engine, chdb_analytics, who(world.tenant), DEFINITION, path)
    header, records = _data_sheet(path)
    # One row per customer in scope (c4 is deleted), not one per grouping: c1 and c3 share 华北 but
    # have different industries, c1 and c2 share IT: three customers, three rows.
    assert count == len(records) == 3
    assert header == ["客户", "客户名称", "地区（第 1 级）", "行业", "状态", "累计消费额"]
    by_id = {r[0]: r[1:] for r in records}
    assert by_id == {
        str(world.c1): ["甲公司", "华北", "IT", "成交客户", 1250.5],
        str(world.c2): ["乙公司", "华东", "IT", "潜在客户", 0],
        str(world.c3): ["丙公司", "华北", "retail", "成交客户", 500],
    }
    assert source == PivotSource(rows=(2, 3), column=4,
                                 values=((0, "count", "客户数"), (5, "sum", "累计消费额（合计）")))
    with zipfile.ZipFile(path) as package:
        cache = package.read("xl/pivotCache/pivotCacheDefinition1.xml")
        assert b'refreshOnLoad="1"' in cache and b'ref="A1:F4"' in cache  # the whole raw table

    # LibreOffice computes the PivotTable from the raw rows: its grand totals are the engine's.
    _soffice(["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
              "engine.xlsx"], tmp_path)
    pivot_rows = list(csv.reader((tmp_path / "engine-数据透视表.csv").read_text("utf-8").splitlines()))
    grand = next(c for c in result.cells if all(v is None for v in c.rows) and c.column is None)
    assert grand.values == (3, Decimal("1750.50"))
    assert [float(v) for v in pivot_rows[-1][-2:]] == [3.0, 1750.5], pivot_rows


async def test_xlsx_raw_records_follow_the_viewers_scope_and_field_policies(
        engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World, tmp_path: Path) -> None:  # noqa: F811
    # A rep sees only their own customers' records.
    rep = who(world.tenant, scope="own", user=REP_A)
    _, _, count = await _files(engine, chdb_analytics, rep, DEFINITION, tmp_path / "rep.xlsx",
                               scope=ReportScope((REP_A,)))
    _, records = _data_sheet(tmp_path / "rep.xlsx")
    assert count == 2 and sorted(r[0] for r in records) == sorted([str(world.c1), str(world.c2)])
    # Customer service: no money column, no money in the PivotTable.
    service = who(world.tenant, lifetime_value="hidden", annual_spend="hidden")
    result, source, _ = await _files(engine, chdb_analytics, service, DEFINITION, tmp_path / "cs.xlsx")
    header, records = _data_sheet(tmp_path / "cs.xlsx")
    assert result.omitted_fields == ("lifetime_value",)
    assert header == ["客户", "客户名称", "地区（第 1 级）", "行业", "状态"] and len(records) == 3
    assert source.values == ((0, "count", "客户数"),)
    # Filters and the time range narrow the records as they narrow the pivot.
    narrowed = {**DEFINITION, "filters": [{"field": "industry", "op": "eq", "values": ["IT"]}],
                "time_range": {"range": "custom", "from": TODAY.replace(day=1).isoformat(), "to": TODAY.isoformat()}}
    _, _, count = await _files(engine, chdb_analytics, who(world.tenant), narrowed, tmp_path / "narrow.xlsx")
    _, records = _data_sheet(tmp_path / "narrow.xlsx")
    assert count == 1 and records[0][0] == str(world.c2)  # IT and created this month
