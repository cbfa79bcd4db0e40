"""The report workbook, built by openpyxl's write-only mode, its data sheet streamed:

1. the report sheet: title, filters, the pivoted result with subtotal and grand total rows, number
   formats per measure (money in its currency, percent), headers frozen, and the chart as a native
   Excel chart (bar, line or pie) over the sheet's own figures;
2. the data sheet: the underlying rows as an Excel Table. openpyxl writes the package with the
   header and one sample row; `_assemble` copies it into the output, streaming the rows into the
   sheet as SpreadsheetML (a million rows in about 10 s of CPU and constant memory, where
   openpyxl's per-cell writer takes minutes) and setting the Table's and the pivot cache's range;
3. the pivot sheet: a native PivotTable over that table. openpyxl does not author pivot tables,
   but it serialises their parts (it keeps the ones it reads): this module builds the
   pivotCacheDefinition (no saved records, `refreshOnLoad="1"`) and the pivotTableDefinition from
   openpyxl's own classes, so Excel and LibreOffice compute the pivot from the table when the file
   opens, and anyone can rearrange it.

The chart data lives on a hidden fourth sheet (the categories and series as one block), because the
report sheet interleaves subtotal rows that a chart must not plot.
"""

from __future__ import annotations

import math
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any, Final, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.pivot.cache import CacheDefinition, CacheField, CacheSource, SharedItems, WorksheetSource
from openpyxl.pivot.table import DataField, FieldItem, Location, PivotField, PivotTableStyle, RowColField
from openpyxl.pivot.table import TableDefinition as PivotTableDefinition
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from crm_platform.spreadsheets import HEADER_FILL, HEADER_FONT
from crm_platform.text import printable
from crm_reporting.reports.files.chart import chart_data
from crm_reporting.reports.files.layout import Layout, lay_out
from crm_reporting.reports.files.values import DATE_FORMAT, DATETIME_FORMAT, NUMBER_FORMAT, excel_format, excel_value
from crm_reporting.reports.result import PivotResult, UnderlyingRows

XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE_NAME: Final = "ReportData"
# zlib level of the data sheet: 1 compresses its repetitive XML to about a tenth at a fraction of
# the time of the default 6 (which would take most of a million-row export's minute).
SHEET_COMPRESSION: Final = 1
PIVOT_NAME: Final = "ReportPivot"
Aggregate = Literal["count", "sum", "average", "min", "max"]
_AGGREGATES: Final[dict[str, Aggregate]] = {
    "count": "count", "sum": "sum", "avg": "average", "average": "average", "min": "min", "max": "max",
}

TITLE_FONT = Font(bold=True, size=14)
NOTE_FONT = Font(color="555555")
SUBTOTAL_FONT = Font(bold=True)
SUBTOTAL_FILL = PatternFill("solid", fgColor="EEF2FA")
TOTAL_FONT = Font(bold=True)
TOTAL_FILL = PatternFill("solid", fgColor="D6E0F5")
GROUP_ALIGN = Alignment(horizontal="center")


@dataclass(frozen=True)
class PivotSource:
    """What the native PivotTable groups and sums, as indexes into `UnderlyingRows.columns`: the
    row dimensions' columns, the column dimension's column, and one (column, aggregate, caption)
    per value (an empty caption reads "<aggregate> <column>").
    The engine knows this exactly and should pass it; `infer_pivot_source` guesses it from labels."""

    rows: tuple[int, ...]
    column: int | None
    values: tuple[tuple[int, Aggregate, str], ...]


def infer_pivot_source(result: PivotResult, header: Sequence[str]) -> PivotSource:
    """Dimensions whose label is a column header; measures "<aggregate>:<field>" whose label starts
    with a column header (the longest one), count measures as a count of the first column. Measures
    a classic PivotTable cannot compute (distinct counts, conversion rates) are left out."""
    position = {name: index for index, name in enumerate(header)}
    rows = tuple(position[d.label] for d in result.rows if d.label in position)
    column = position.get(result.column.label) if result.column is not None else None
    values: list[tuple[int, Aggregate, str]] = []
    for measure in result.measures:
        aggregate = _AGGREGATES.get(measure.key.split(":", 1)[0])
        if aggregate is None or measure.kind == "percent":
            continue
        if aggregate == "count":
            values.append((0, "count", measure.label))
            continue
        candidates = [i for i, name in enumerate(header) if name and measure.label.startswith(name)]
        if candidates:
            values.append((max(candidates, key=lambda i: len(header[i])), aggregate, measure.label))
    return PivotSource(rows, column, tuple(values))


def _unique(header: Sequence[str]) -> list[str]:
    """Table column names must be unique (and non-empty) for Excel."""
    seen: set[str] = set()
    out: list[str] = []
    for index, name in enumerate(header, 1):
        name = printable(name).strip() or f"Column{index}"
        candidate, n = name, 2
        while candidate.casefold() in seen:
            candidate, n = f"{name} ({n})", n + 1
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


def _sheet_title(text: str) -> str:
    bad = set("[]:*?/\\")
    return "".join("_" if c in bad else c for c in printable(text))[:31] or "Sheet"


class _Cells:
    """Styled write-only cells made once and reused: a write-only sheet serialises a row as soon as
    it is appended, so one cell object per (column, style) serves every row."""

    def __init__(self, sheet: Any):
        self.sheet = sheet
        self._made: dict[tuple[int, str, str], WriteOnlyCell] = {}

    def cell(self, column: int, value: Any, number_format: str = "General", style: str = "") -> WriteOnlyCell:
        key = (column, number_format, style)
        made = self._made.get(key)
        if made is None:
            made = WriteOnlyCell(self.sheet)
            made.number_format = number_format
            if style == "header":
                made.font, made.fill = HEADER_FONT, HEADER_FILL
            elif style == "group":
                made.font, made.fill, made.alignment = HEADER_FONT, HEADER_FILL, GROUP_ALIGN
            elif style == "subtotal":
                made.font, made.fill = SUBTOTAL_FONT, SUBTOTAL_FILL
            elif style == "total":
                made.font, made.fill = TOTAL_FONT, TOTAL_FILL
            elif style == "title":
                made.font = TITLE_FONT
            elif style == "note":
                made.font = NOTE_FONT
            self._made[key] = made
        if isinstance(value, str):
            made.value = printable(value)
            made.data_type = "s"  # text stays text: "=cmd|..." is never a formula
        else:
            made.value = value
        return made


def _report_sheet(book: Workbook, layout: Layout) -> tuple[Any, int, int]:
    """Writes sheet 1; returns it with the header's first row and the body's first row."""
    result = layout.result
    said = layout.words
    sheet = book.create_sheet(_sheet_title(result.title or said.report))
    cells = _Cells(sheet)
    dims = len(result.rows)
    width = dims + len(layout.columns)
    for index in range(1, max(width, 1) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 22 if index <= dims else 16

    header_row = 3 + (1 if result.filters else 0) + (1 if result.generated_at is not None else 0)
    body_row = header_row + (2 if result.column is not None else 1)
    # Write-only sheets write their view with the first row: freeze before appending.
    sheet.freeze_panes = f"{get_column_letter(dims + 1)}{body_row}"
    sheet.append([cells.cell(1, result.title, style="title")])
    if result.filters:
        text = "; ".join(f"{label}: {value}" for label, value in result.filters)
        sheet.append([cells.cell(1, f"{said.filters}: {text}", style="note")])
    if result.generated_at is not None:
        at = result.generated_at.astimezone(ZoneInfo(result.time_zone)).strftime("%Y-%m-%d %H:%M")
        sheet.append([cells.cell(1, f"{said.generated}: {at} ({result.time_zone})", style="note")])
    sheet.append([])
    if result.column is not None:
        # Two header rows: the column dimension's values (and "Total") above the measures.
        group_row: list[Any] = [cells.cell(i + 1, "", style="group") for i in range(dims)]
        if dims:
            group_row[-1] = cells.cell(dims, result.column.label, style="group")
        previous: str | None = None
        for offset, column in enumerate(layout.columns):
            group = layout.column_group(column)
            group_row.append(cells.cell(dims + offset + 1, group if group != previous else "", style="group"))
            previous = group
        sheet.append(group_row)
    header = [*layout.dimension_labels, *(c.measure.label for c in layout.columns)]
    sheet.append([cells.cell(i + 1, text, style="header") for i, text in enumerate(header)])

    formats = [excel_format(c.measure, result.locale) for c in layout.columns]
    for row in layout.rows:
        style = "" if row.kind == "detail" else row.kind
        out = [cells.cell(i + 1, label, style=style) for i, label in enumerate(row.labels)]
        out.extend(
            cells.cell(dims + i + 1, excel_value(value), formats[i], style)
            for i, value in enumerate(row.values)
        )
        sheet.append(out)
    return sheet, header_row, body_row


def _chart(book: Workbook, layout: Layout, report: Any, anchor_row: int, chart_sheet_title: str) -> None:
    result = layout.result
    figures = chart_data(layout)
    if figures is None:
        return
    categories, measure = figures.categories, figures.measure
    names = [name for name, _ in figures.series]
    data = book.create_sheet(_sheet_title(chart_sheet_title))
    data.sheet_state = "hidden"
    data.append(["", *names])
    for index, category in enumerate(categories):
        data.append([category, *(values[index] for _, values in figures.series)])
    chart: BarChart | LineChart | PieChart
    if result.chart == "pie":
        chart = PieChart()
    elif result.chart == "line":
        chart = LineChart()
    else:
        chart = BarChart()
        chart.type = "col"
    chart.title = result.title
    chart.height, chart.width = 9, 18
    refs = Reference(data, min_col=2, max_col=1 + len(names), min_row=1, max_row=1 + len(categories))
    chart.add_data(refs, titles_from_data=True)
    chart.set_categories(Reference(data, min_col=1, min_row=2, max_row=1 + len(categories)))
    if not isinstance(chart, PieChart):
        chart.y_axis.numFmt = excel_format(measure, result.locale)
        chart.y_axis.title = measure.label
        chart.y_axis.delete = False
        chart.x_axis.delete = False
    report.add_chart(chart, f"{get_column_letter(len(result.rows) + len(layout.columns) + 2)}{anchor_row}")


# The sample row's cells, one per number format the data sheet uses: their style ids are read back
# from openpyxl's output and used by the row writer.
_SAMPLE_FORMATS: Final = ("General", NUMBER_FORMAT, DATE_FORMAT, DATETIME_FORMAT)
_PLACEHOLDER_ROWS: Final = 2


def _data_sheet(book: Workbook, title: str, columns: Sequence[str]) -> tuple[Any, list[str]]:
    """Sheet 2 as openpyxl writes it: the header row, one sample row (replaced by the real rows when
    the package is assembled) and the Table over both."""
    sheet = book.create_sheet(_sheet_title(title))
    cells = _Cells(sheet)
    header = _unique(columns)
    width = max(len(header), 1)
    for index in range(1, width + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 18
    sheet.freeze_panes = "A2"
    sheet.append([cells.cell(i + 1, name, style="header") for i, name in enumerate(header)])
    sheet.append([cells.cell(i + 1, 0, number_format) for i, number_format in enumerate(_SAMPLE_FORMATS)])
    ref = f"A1:{get_column_letter(width)}{_PLACEHOLDER_ROWS}"
    table = Table(displayName=TABLE_NAME, ref=ref, autoFilter=AutoFilter(ref=ref))
    table.tableColumns = [TableColumn(id=i, name=name) for i, name in enumerate(header, 1)]
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    with warnings.catch_warnings():  # "add table columns manually": they are, just above
        warnings.simplefilter("ignore", UserWarning)
        sheet.add_table(table)
    return sheet, header


_EXCEL_EPOCH: Final = datetime(1899, 12, 30)
_XML_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class _RowWriter:
    """The data sheet's rows as SpreadsheetML, written straight into the package: inline strings
    (no shared-string table to hold in memory), numbers, and dates as Excel serial numbers in the
    tenant's time zone with a date format. Several times faster than openpyxl's per-cell writer,
    which is what makes a million rows fit in a minute."""

    def __init__(self, width: int, styles: dict[str, str], time_zone: str):
        self.letters = [get_column_letter(i) for i in range(1, width + 1)]
        self.number_style = styles[NUMBER_FORMAT]
        self.date_style = styles[DATE_FORMAT]
        self.datetime_style = styles[DATETIME_FORMAT]
        self.zone = ZoneInfo(time_zone)

    def cell(self, ref: str, value: object) -> str:
        if isinstance(value, str):
            text = printable(value).translate(_XML_ESCAPES)
            space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
            return f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>'
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{ref}"><v>{value!r}</v></c>' if math.isfinite(value) else ""
        if isinstance(value, Decimal):
            return f'<c r="{ref}" s="{self.number_style}"><v>{float(value)!r}</v></c>' if value.is_finite() else ""
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(self.zone).replace(tzinfo=None)  # Excel has no time zones
            serial = (value - _EXCEL_EPOCH).total_seconds() / 86400
            return f'<c r="{ref}" s="{self.datetime_style}"><v>{serial!r}</v></c>'
        if isinstance(value, date):
            return f'<c r="{ref}" s="{self.date_style}"><v>{(value - _EXCEL_EPOCH.date()).days}</v></c>'
        if value is None:
            return ""
        return self.cell(ref, str(value))

    def row(self, number: int, values: Sequence[object]) -> str:
        parts = [f'<row r="{number}">']
        append = parts.append
        for letter, value in zip(self.letters, values, strict=False):
            kind = type(value)
            if kind is str:  # the common cases inline: this loop runs for every cell of a million rows
                text = printable(value).translate(_XML_ESCAPES)  # type: ignore[arg-type]
                if text and not (text[0].isspace() or text[-1].isspace()):
                    append(f'<c r="{letter}{number}" t="inlineStr"><is><t>{text}</t></is></c>')
                else:
                    append(self.cell(f"{letter}{number}", value))
            elif kind is int:
                append(f'<c r="{letter}{number}"><v>{value}</v></c>')
            elif value is not None:
                append(self.cell(f"{letter}{number}", value))
        append("</row>")
        return "".join(parts)


def _assemble(
    package: IO[bytes], out: IO[bytes], data_path: str, underlying: UnderlyingRows, width: int, time_zone: str,
    progress: Callable[[int], None] | None, progress_every: int,
) -> int:
    """Copies openpyxl's package into `out`, streaming the underlying rows into the data sheet in
    place of the sample row, then setting the Table's and the pivot cache's range to the rows
    written. Returns the row count."""
    count = 0
    placeholder = f'ref="A1:{get_column_letter(width)}{_PLACEHOLDER_ROWS}"'
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED, compresslevel=SHEET_COMPRESSION
    ) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == data_path:
                count = _stream_sheet(data.decode("utf-8"), target, data_path, underlying, width, time_zone,
                                      progress, progress_every)
                continue
            if info.filename.startswith(("xl/tables/", "xl/pivotCache/")):
                real = f'ref="A1:{get_column_letter(width)}{max(count, 1) + 1}"'
                data = data.decode("utf-8").replace(placeholder, real).encode("utf-8")
            elif info.filename.startswith("xl/pivotTables/") and info.filename.endswith(".xml"):
                # openpyxl writes the part's own relationship id as an attribute, which the schema
                # does not have (Excel never writes it): left out.
                data = re.sub(rb' r:id="[^"]*"', b"", data, count=1)
            target.writestr(info.filename, data, compresslevel=6)
    return count


def _stream_sheet(
    xml: str, target: zipfile.ZipFile, path: str, underlying: UnderlyingRows, width: int, time_zone: str,
    progress: Callable[[int], None] | None, progress_every: int,
) -> int:
    head, rest = xml.split("<sheetData>", 1)
    rows_xml, tail = rest.split("</sheetData>", 1)
    header_end = rows_xml.index("</row>") + len("</row>")
    header, sample = rows_xml[:header_end], rows_xml[header_end:]
    style_ids = re.findall(r'<c r="[A-Z]+2"(?: [^>]*?)? s="(\d+)"', sample)
    styles = dict(zip(_SAMPLE_FORMATS, ["0", *style_ids], strict=False))
    writer = _RowWriter(width, styles, time_zone)
    head = re.sub(r"<dimension [^>]*/>", "", head)  # optional, and unknown until the rows are written
    count = 0
    # Named by a string, the part takes the archive's compression (ZIP_DEFLATED, SHEET_COMPRESSION).
    with target.open(path, "w", force_zip64=True) as part:
        buffer = [head, "<sheetData>", header]
        for values in underlying.rows:
            count += 1
            buffer.append(writer.row(count + 1, values))
            if len(buffer) >= 1000:
                part.write("".join(buffer).encode("utf-8"))
                buffer.clear()
            if progress is not None and count % progress_every == 0:
                progress(count)
        if count == 0:
            buffer.append('<row r="2"/>')  # a table needs a body row
        buffer.extend(["</sheetData>", tail])
        part.write("".join(buffer).encode("utf-8"))
    return count


def _pivot(book: Workbook, title: str, data_title: str, header: list[str], source: PivotSource,
           layout: Layout) -> None:
    """Sheet 3: the native PivotTable over the data sheet's table, computed when the file opens."""
    if not source.values or not header:
        return
    sheet = book.create_sheet(_sheet_title(title))
    sheet.append([layout.result.title])
    last = f"{get_column_letter(len(header))}{_PLACEHOLDER_ROWS}"  # set to the real range by _assemble
    cache = CacheDefinition(
        refreshOnLoad=True,
        saveData=False,
        createdVersion=3,
        refreshedVersion=3,
        minRefreshableVersion=3,
        recordCount=0,
        cacheSource=CacheSource(type="worksheet", worksheetSource=WorksheetSource(ref=f"A1:{last}", sheet=data_title)),
        cacheFields=[CacheField(name=name, numFmtId=0, sharedItems=SharedItems()) for name in header],
    )
    axis: dict[int, str] = {index: "axisRow" for index in source.rows}
    if source.column is not None:
        axis[source.column] = "axisCol"
    value_columns = {index for index, _, _ in source.values}
    fields = []
    for index in range(len(header)):
        if index in axis:
            fields.append(PivotField(axis=axis[index], showAll=False, dataField=index in value_columns or None,
                                     items=[FieldItem(t="default")]))
        else:
            fields.append(PivotField(showAll=False, dataField=index in value_columns or None))
    data_fields = []
    for index, aggregate, label in source.values:
        name = label or f"{aggregate} {header[index]}"
        data_fields.append(DataField(name=name, fld=index, subtotal=aggregate, baseField=0, baseItem=0,
                                     numFmtId=3 if aggregate == "count" else 4))  # #,##0 / #,##0.00
    col_fields = [RowColField(x=source.column)] if source.column is not None else []
    if len(data_fields) > 1:
        col_fields.append(RowColField(x=-2))  # the values themselves go across
    pivot = PivotTableDefinition(
        name=PIVOT_NAME,
        cacheId=1,
        dataCaption=layout.words.values,
        grandTotalCaption=layout.words.grand_total,
        applyNumberFormats=False, applyBorderFormats=False, applyFontFormats=False,
        applyPatternFormats=False, applyAlignmentFormats=False, applyWidthHeightFormats=True,
        updatedVersion=3, minRefreshableVersion=3, createdVersion=3,
        useAutoFormatting=True, itemPrintTitles=True, indent=0, outline=True, outlineData=True,
        location=Location(ref="A3", firstHeaderRow=1, firstDataRow=1, firstDataCol=1),
        pivotFields=fields,
        rowFields=[RowColField(x=index) for index in source.rows],
        colFields=col_fields,
        dataFields=data_fields,
        pivotTableStyleInfo=PivotTableStyle(name="PivotStyleMedium9", showRowHeaders=True, showColHeaders=True,
                                            showRowStripes=False, showColStripes=False, showLastColumn=True),
    )
    pivot.cache = cache
    sheet._pivots = [pivot]  # what openpyxl's writer serialises (with the cache, rels and manifest)


def write_xlsx(
    result: PivotResult,
    underlying: UnderlyingRows,
    out: IO[bytes],
    *,
    source: PivotSource | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> int:
    """Writes the workbook to `out` (a file opened for binary writing); returns the number of
    underlying rows written. `progress(rows)` is called every `progress_every` rows."""
    layout = lay_out(result)
    said = layout.words
    book = Workbook(write_only=True)
    report, header_row, _ = _report_sheet(book, layout)
    data_title = _sheet_title(said.data)
    if data_title == report.title:
        data_title = _sheet_title(f"{said.data} (2)")
    data, header = _data_sheet(book, data_title, underlying.columns)
    pivot_title = _sheet_title(said.pivot_table)
    _pivot(book, pivot_title, data.title, header,
           source if source is not None else infer_pivot_source(result, header), layout)
    _chart(book, layout, report, header_row, "chart_data")
    with tempfile.TemporaryFile() as package:
        book.save(package)
        package.seek(0)
        return _assemble(package, out, data.path.lstrip("/"), underlying, len(header) or 1, result.time_zone,
                         progress, progress_every)
