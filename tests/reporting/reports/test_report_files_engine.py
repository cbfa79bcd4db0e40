"""The report files made from what the real pivot engine returns (chDB and Postgres): every format
renders the engine's PivotResult, and the XLSX's PivotTable over the pivot's groupings adds up to
the engine's totals."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.reports.files.groupings import groupings_as_rows
from crm_reporting.reports.files.render import write_report_file
from tests.reporting.dashboards.test_panels import World
from tests.reporting.reports.test_report_engine import run, who, world  # noqa: F401 - the fixture

DEFINITION = {
    "object": "customers", "rows": [{"field": "region", "level": 1}, {"field": "industry"}],
    "column": {"field": "status"},
    "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}], "chart": "bar",
}


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

    groupings, source = groupings_as_rows(result)
    path = tmp_path / "engine.xlsx"
    with path.open("wb") as handle:
        count = write_report_file("xlsx", result, groupings, handle, source=source)
    assert count == len(list(groupings.rows))
    book = openpyxl.load_workbook(path)
    report = book.worksheets[0]
    labels = [row[0].value for row in report.iter_rows(min_row=1)]
    assert "总计" in labels
    with zipfile.ZipFile(path) as package:
        assert b'refreshOnLoad="1"' in package.read("xl/pivotCache/pivotCacheDefinition1.xml")

    pdf = io.BytesIO()
    write_report_file("pdf", result, None, pdf)
    assert pdf.getvalue().startswith(b"%PDF")
