"""Report files read back: the CSVs (BOM, layout, labels in the viewer's language, formula-safe,
streamed), the XLSX (values and number formats with openpyxl, the Excel Table, the PivotTable's
definition parts parsed from the zip, and LibreOffice headless opening it and computing the pivot
from the table), and the PDF (pdftotext for Chinese and English text, pdftoppm for its pages)."""

from __future__ import annotations

import csv
import io
import itertools
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from crm_reporting.reports.files.csv_files import pivot_csv, rows_csv
from crm_reporting.reports.files.layout import lay_out
from crm_reporting.reports.files.pdf_file import PDF_MAX_ROWS, write_pdf
from crm_reporting.reports.files.render import CONTENT_TYPES, FileFormat, file_name, write_report_file
from crm_reporting.reports.files.xlsx_file import PivotSource, infer_pivot_source, write_xlsx
from crm_reporting.reports.result import Dimension, Measure, PivotCell, PivotResult, UnderlyingRows
from tests.reporting.reports.fixtures import MANY_COLUMNS, many_rows, pivot, underlying

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _csv(chunks: Iterator[bytes]) -> tuple[bytes, list[list[str]]]:
    data = b"".join(chunks)
    return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _soffice(args: list[str], cwd: Path) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed; ./crm test installs libreoffice-calc-nogui")
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{cwd}/lo-profile", *args],
        cwd=cwd, check=True, capture_output=True, timeout=180,
    )


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed; ./crm test installs poppler-utils")
    return found


# -- layout and CSV --------------------------------------------------------------------------------


def test_layout_puts_each_subtotal_after_its_group_and_the_grand_total_last() -> None:
    layout = lay_out(pivot("zh-CN"))
    assert [(r.kind, r.labels) for r in layout.rows] == [
        ("detail", ("华东", "A")), ("detail", ("华东", "B")), ("subtotal", ("华东", "小计")),
        ("detail", ("华北", "A")), ("detail", ("华北", "B")), ("subtotal", ("华北", "小计")),
        ("detail", ("华南", "B")), ("subtotal", ("华南", "小计")),
        ("total", ("总计", "")),
    ]
    # Column values in the engine's order, then the total across columns, each with every measure.
    assert [(c.column_value, c.measure.key) for c in layout.columns][:4] == [
        ("赢单", "count"), ("赢单", "sum:annual_spend"), ("赢单", "rate:won"), ("输单", "count"),
    ]
    assert [(c.column_value, c.measure.key) for c in layout.columns][-1] == (None, "rate:won")
    # A cell the engine did not return stays empty: 华北 B has no won customer.
    north_b = layout.rows[4]
    assert north_b.values[:3] == (None, None, None)
    assert north_b.values[3] == 1


def test_pivot_csv_has_a_bom_the_layout_and_labels_in_the_viewers_language() -> None:
    data, rows = _csv(pivot_csv(pivot("zh-CN")))
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    assert rows[0][:3] == ["地区", "等级", "赢单 · 客户数"]
    assert rows[0][-3:] == ["合计 · 客户数", "合计 · 年消费额（合计）", "合计 · 赢单率"]
    assert rows[1] == ["华东", "A", "1", "1200.50", "100.0%", "1", "300.00", "0.0%", "2", "1500.50", "50.0%"]
    assert rows[3][:2] == ["华东", "小计"]
    assert rows[-1] == ["总计", "", "4", "8000.74", "100.0%", "2", "350.00", "0.0%", "6", "8350.74", "66.7%"]

    _, english = _csv(pivot_csv(pivot("en", column=False)))
    assert english[0] == ["Region", "Tier", "Customers", "Annual spend (sum)", "Win rate"]
    assert english[3] == ["East China", "Subtotal", "3", "2300.75", "66.7%"]
    assert english[-1] == ["Grand total", "", "6", "8350.74", "66.7%"]


def test_rows_csv_is_streamed_formula_safe_and_in_the_tenants_time_zone() -> None:
    read = 0

    def endless() -> Iterator[list[object]]:
        nonlocal read
        for i in itertools.count():
            read += 1
            yield [f"客户{i}", Decimal("1.50"), datetime(2026, 1, 1, 16, 30, tzinfo=UTC), date(2026, 2, 3), None]

    header = ["客户", "金额", "时间", "日期", "空"]
    chunks = rows_csv(UnderlyingRows(header, endless()), "Asia/Shanghai", chunk_rows=100)
    first = next(chunks)
    assert read <= 101  # one chunk's rows were read, not the (endless) rest
    text = first.decode("utf-8")
    assert text.startswith("\ufeff客户,金额,时间,日期,空\r\n")
    assert "客户0,1.50,2026-01-02 00:30:00,2026-02-03,\r\n" in text

    _, rows = _csv(rows_csv(UnderlyingRows(["a"], [["=HYPERLINK(\"http://x\")"], ["+86 138"], ["-1"], ["@SUM(A1)"]])))
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "+86 138", "-1", "'@SUM(A1)"]


# -- XLSX ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workbook_zh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    with path.open("wb") as out:
        assert write_xlsx(pivot("zh-CN"), underlying("zh-CN"), out) == 6
    return path


def test_xlsx_report_sheet_values_number_formats_totals_and_frozen_headers(workbook_zh: Path) -> None:
    book = openpyxl.load_workbook(workbook_zh)
    assert book.sheetnames == ["客户地区分析", "数据", "数据透视表", "chart_data"]
    assert book["chart_data"].sheet_state == "hidden"
    sheet = book["客户地区分析"]
    assert sheet["A1"].value == "客户地区分析"
    assert sheet["A2"].value == "筛选条件: 对象: 客户; 时间范围: 2026-01-01 至 2026-03-31"
    assert sheet["A3"].value == "生成时间: 2026-04-01 09:00 (Asia/Shanghai)"
    # Two header rows: the column values (and the total) above the measures.
    assert [c.value for c in sheet[5]][:6] == [None, "状态", "赢单", None, None, "输单"]
    assert sheet["I5"].value == "合计"
    assert [c.value for c in sheet[6]][:5] == ["地区", "等级", "客户数", "年消费额（合计）", "赢单率"]
    assert sheet.freeze_panes == "C7"
    first = sheet[7]
    assert [c.value for c in first[:5]] == ["华东", "A", 1, 1200.5, 1]
    assert first[2].number_format == "#,##0"
    assert first[3].number_format == '"¥"#,##0.00;-"¥"#,##0.00'
    assert first[4].number_format == "0.0%"
    subtotal = sheet[9]
    assert [c.value for c in subtotal[:4]] == ["华东", "小计", 2, 2000.75]
    assert subtotal[0].font.b
    grand = sheet[15]
    assert [c.value for c in grand] == ["总计", None, 4, 8000.74, 1, 2, 350, 0, 6, 8350.74, pytest.approx(2 / 3)]
    assert grand[0].fill.fgColor.rgb.endswith("D6E0F5")
    assert sheet.max_row == 15


def test_xlsx_data_sheet_is_an_excel_table_with_typed_cells(workbook_zh: Path) -> None:
    book = openpyxl.load_workbook(workbook_zh)
    sheet = book["数据"]
    assert [c.value for c in sheet[1]] == ["地区", "等级", "状态", "年消费额", "订单数", "创建时间"]
    row = [c.value for c in sheet[2]]
    assert row == ["华东", "A", "赢单", 1200.5, 3, datetime(2026, 1, 5, 9, 30)]  # 01:30 UTC in Shanghai
    assert sheet["D2"].number_format == "#,##0.00"
    assert sheet["F2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet.max_row == 7
    assert sheet.freeze_panes == "A2"
    table = sheet.tables["ReportData"]
    assert table.ref == "A1:F7"
    assert table.autoFilter.ref == "A1:F7"
    assert [c.name for c in table.tableColumns] == ["地区", "等级", "状态", "年消费额", "订单数", "创建时间"]


def test_xlsx_pivot_table_parts_define_a_pivot_over_the_table_refreshed_on_open(workbook_zh: Path) -> None:
    with zipfile.ZipFile(workbook_zh) as package:
        names = set(package.namelist())
        cache = ElementTree.fromstring(package.read("xl/pivotCache/pivotCacheDefinition1.xml"))
        table = ElementTree.fromstring(package.read("xl/pivotTables/pivotTable1.xml"))
        workbook = ElementTree.fromstring(package.read("xl/workbook.xml"))
        types = package.read("[Content_Types].xml").decode()
        workbook_rels = package.read("xl/_rels/workbook.xml.rels").decode()
        sheet_rels = package.read("xl/worksheets/_rels/sheet3.xml.rels").decode()
        table_rels = package.read("xl/pivotTables/_rels/pivotTable1.xml.rels").decode()
        chart = package.read("xl/charts/chart1.xml").decode()
    assert "xl/pivotCache/pivotCacheRecords1.xml" not in names  # nothing saved: computed on open
    assert cache.get("refreshOnLoad") == "1"
    assert cache.get("saveData") == "0"
    source = cache.find(f"{MAIN}cacheSource/{MAIN}worksheetSource")
    assert source is not None
    assert (source.get("sheet"), source.get("ref")) == ("数据", "A1:F7")
    assert [f.get("name") for f in cache.iter(f"{MAIN}cacheField")] == [
        "地区", "等级", "状态", "年消费额", "订单数", "创建时间"]

    assert table.get("cacheId") == "1"
    assert table.get(f"{REL}id") is None
    assert [f.get("axis") for f in table.iter(f"{MAIN}pivotField")] == ["axisRow", "axisRow", "axisCol", None, None,
                                                                       None]
    assert [f.get("x") for f in table.find(f"{MAIN}rowFields") or []] == ["0", "1"]
    assert [f.get("x") for f in table.find(f"{MAIN}colFields") or []] == ["2", "-2"]
    data_fields = [(f.get("name"), f.get("fld"), f.get("subtotal")) for f in table.iter(f"{MAIN}dataField")]
    assert data_fields == [("客户数", "0", "count"), ("年消费额（合计）", "3", "sum")]  # the rate has no pivot form

    caches = workbook.find(f"{MAIN}pivotCaches")
    assert caches is not None and caches[0].get("cacheId") == "1"
    assert "pivotCacheDefinition+xml" in types and "pivotTable+xml" in types
    assert "pivotCacheDefinition1.xml" in workbook_rels
    assert "pivotTable1.xml" in sheet_rels
    assert "pivotCacheDefinition1.xml" in table_rels
    assert "<c:barChart>" in chart or "barChart" in chart


def test_libreoffice_opens_the_xlsx_and_computes_the_pivot_from_the_table(workbook_zh: Path, tmp_path: Path) -> None:
    shutil.copy(workbook_zh, tmp_path / "report.xlsx")
    # Every sheet as its own CSV (filter option 12 = -1), values as stored.
    _soffice(["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
              "report.xlsx"], tmp_path)
    pivot_sheet = list(csv.reader((tmp_path / "report-数据透视表.csv").read_text("utf-8").splitlines()))
    # LibreOffice computed the PivotTable from the data sheet's table when it opened the file:
    # region groups with their tiers, counts and sums split by status, and the totals.
    east = next(i for i, r in enumerate(pivot_sheet) if r[:1] == ["华东"])
    assert pivot_sheet[east][2:] == ["2", "2000.75", "1", "300", "3", "2300.75"]
    assert pivot_sheet[east + 1][1:6] == ["A", "1", "1200.5", "1", "300"]
    north = next(r for r in pivot_sheet if r[:1] == ["华北"])
    assert north[2:] == ["1", "5000", "1", "50", "2", "5050"]
    assert pivot_sheet[-1][2:] == ["4", "8000.74", "2", "350", "6", "8350.74"]  # the grand total row
    report = (tmp_path / "report-客户地区分析.csv").read_text("utf-8")
    assert "总计" in report and "小计" in report


def test_libreoffice_prints_the_xlsx_with_its_chart(workbook_zh: Path, tmp_path: Path) -> None:
    shutil.copy(workbook_zh, tmp_path / "report.xlsx")
    _soffice(["--convert-to", "pdf", "report.xlsx"], tmp_path)
    text = subprocess.run([_tool("pdftotext"), str(tmp_path / "report.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode()
    assert "客户地区分析" in text and "小计" in text and "¥1,200.50" in text
    subprocess.run([_tool("pdftoppm"), "-r", "50", "-png", "report.pdf", "page"], cwd=tmp_path, check=True)
    assert list(tmp_path.glob("page-*.png"))


def test_xlsx_without_rows_without_column_and_with_unsafe_text(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    with path.open("wb") as out:
        no_rows = UnderlyingRows(["Region", "Region", ""], [])
        assert write_xlsx(pivot("en", column=False, chart="pie"), no_rows, out) == 0
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:2] == ["Customers by region", "Data"]
    sheet = book["Customers by region"]
    assert [c.value for c in sheet[5]] == ["Region", "Tier", "Customers", "Annual spend (sum)", "Win rate"]
    assert sheet.freeze_panes == "C6"
    assert sheet["A14"].value == "Grand total"
    data = book["Data"]
    assert data.tables["ReportData"].ref == "A1:C2"  # a table keeps one (empty) body row
    assert [c.name for c in data.tables["ReportData"].tableColumns] == ["Region", "Region (2)", "Column3"]
    with zipfile.ZipFile(path) as package:
        assert "<c:pieChart>" in package.read("xl/charts/chart1.xml").decode() or "pieChart" in package.read(
            "xl/charts/chart1.xml").decode()

    unsafe = tmp_path / "unsafe.xlsx"
    with unsafe.open("wb") as out:
        write_xlsx(pivot("en"), UnderlyingRows(["Name", "Note"], [["=cmd|' /C calc'!A0", " padded \x07"]]), out)
    cells = openpyxl.load_workbook(unsafe)["Data"][2]
    assert cells[0].value == "=cmd|' /C calc'!A0" and cells[0].data_type == "s"  # text, never a formula
    assert cells[1].value == " padded \ufffd"


def test_xlsx_streams_many_rows_and_reports_progress(tmp_path: Path) -> None:
    seen: list[int] = []
    path = tmp_path / "many.xlsx"
    source = PivotSource(rows=(1, 2), column=3, values=((0, "count", "客户数"), (4, "sum", "年消费额")))
    with path.open("wb") as out:
        count = write_xlsx(pivot("zh-CN"), UnderlyingRows(MANY_COLUMNS, many_rows(25_000)), out, source=source,
                           progress=seen.append, progress_every=10_000)
    assert count == 25_000
    assert seen == [10_000, 20_000]
    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book["数据"]
    last = next(sheet.iter_rows(min_row=25_001, max_row=25_001, values_only=True))
    assert last[0] == "客户24999"
    book.close()
    with zipfile.ZipFile(path) as package:
        assert 'ref="A1:G25001"' in package.read("xl/tables/table1.xml").decode()
        assert 'ref="A1:G25001"' in package.read("xl/pivotCache/pivotCacheDefinition1.xml").decode()


def test_pivot_source_is_inferred_from_labels() -> None:
    header = ["地区", "等级", "状态", "年消费额", "订单数", "创建时间"]
    assert infer_pivot_source(pivot("zh-CN"), header) == PivotSource(
        rows=(0, 1), column=2, values=((0, "count", "客户数"), (3, "sum", "年消费额（合计）")))


# -- PDF -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_pdf_has_title_filters_chart_table_and_page_numbers(locale: str, tmp_path: Path) -> None:
    path = tmp_path / f"report-{locale}.pdf"
    with path.open("wb") as out:
        write_pdf(pivot(locale), out)
    text = subprocess.run([_tool("pdftotext"), "-layout", str(path), "-"], capture_output=True,
                          check=True).stdout.decode()
    pages = text.count("\f")
    assert pages == 2  # landscape: the chart and the start of the table, then the rest of the table
    if locale == "zh-CN":
        for expected in ("客户地区分析", "对象: 客户", "时间范围: 2026-01-01 至 2026-03-31", "生成时间", "华东", "小计",
                         "总计", "赢单率", "¥1,200.50", "第 1 页，共 2 页", "第 2 页，共 2 页"):
            assert expected in text, expected
    else:
        for expected in ("Customers by region", "Object: Customers", "East China", "Subtotal", "Grand total",
                         "CN¥8,350.74", "66.7%", "Page 1 of 2", "Page 2 of 2"):
            assert expected in text, expected
    subprocess.run([_tool("pdftoppm"), "-r", "60", "-png", str(path), str(tmp_path / "page")], check=True)
    drawn = sorted(tmp_path.glob("page-*.png"))
    assert len(drawn) == pages and drawn[0].stat().st_size > 20_000  # the chart and the table, drawn


def test_pdf_of_a_long_result_repeats_its_header_numbers_pages_and_says_what_it_left_out(tmp_path: Path) -> None:
    count = Measure("count", "Customers", "count")
    cells = tuple(PivotCell((f"Owner {i:04d}",), None, (i,)) for i in range(PDF_MAX_ROWS + 5))
    result = PivotResult("Customers per owner", (Dimension("owner", "Owner"),), None, (count,),
                         (*cells, PivotCell((None,), None, (1,))), chart="line", locale="en")
    path = tmp_path / "long.pdf"
    with path.open("wb") as out:
        write_pdf(result, out)
    text = subprocess.run([_tool("pdftotext"), str(path), "-"], capture_output=True, check=True).stdout.decode()
    pages = text.count("\f")
    assert pages > 10
    assert f"Page {pages} of {pages}" in text
    assert text.count("Owner\n") >= pages - 1 or text.count("Owner") >= pages  # the header on every page
    assert "Grand total" in text  # kept after the rows left out
    assert "This PDF shows the first 2,000 of 2,006 rows; the XLSX and CSV files have all of them." in text.replace(
        "\n", " ")


# -- one entry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "rows_csv", "xlsx", "pdf"])
def test_write_report_file_names_and_writes_each_format(fmt: FileFormat, tmp_path: Path) -> None:
    path = tmp_path / "out"
    seen: list[int] = []
    with path.open("wb") as out:
        rows = write_report_file(fmt, pivot("zh-CN"), underlying("zh-CN"), out, progress=seen.append)
    data = path.read_bytes()
    extension = "rows.csv" if fmt == "rows_csv" else fmt
    assert file_name(pivot("zh-CN"), fmt) == f"客户地区分析-20260401-0900.{extension}"
    assert CONTENT_TYPES[fmt]
    if fmt in ("csv", "rows_csv"):
        assert data.startswith(b"\xef\xbb\xbf")
        assert rows == (6 if fmt == "rows_csv" else 9)  # the records, or the pivot's rows
    elif fmt == "xlsx":
        assert data.startswith(b"PK") and rows == 6
    else:
        assert data.startswith(b"%PDF") and rows == 9
    assert file_name(PivotResult('a/b:c*"', (), None, (), ()), "pdf") == "a_b_c.pdf"
