"""What running a report produces, and what every report file (CSV, XLSX, PDF, email) is made from.

The contract between the pivot engine (`crm_reporting.reports` running a definition through the
analytics query builder) and the renderers (`crm_reporting.reports.files`): the engine fills a
`PivotResult` already computed under the viewer's data scope and field policies, with every label
translated into the viewer's language; the renderers only lay it out and never query anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

MeasureKind = Literal["count", "number", "money", "percent"]
ChartKind = Literal["table", "bar", "line", "pie"]
CellValue = Decimal | int | float | None


@dataclass(frozen=True)
class Dimension:
    """A row or column dimension, e.g. key "industry" or "created_at:month", label "行业"."""

    key: str
    label: str


@dataclass(frozen=True)
class Measure:
    """A measure, e.g. key "sum:annual_spend", label "年消费额（合计）"; money carries its currency."""

    key: str
    label: str
    kind: MeasureKind
    currency: str | None = None


@dataclass(frozen=True)
class PivotCell:
    """One grouping of the result, in long form as ROLLUP / GROUPING SETS return it.

    `rows` holds the display value of each row dimension; `None` marks a dimension rolled up
    (a subtotal when only a suffix is `None`, the grand total when all are). A real empty value is
    the translated "(empty)" label, never `None`. `column` is the column dimension's display value,
    or `None` for the total across columns (and always `None` without a column dimension).
    `values` has one entry per measure of `PivotResult.measures`, in that order.
    """

    rows: tuple[str | None, ...]
    column: str | None
    values: tuple[CellValue, ...]
    # Added by the report builder (optional): the raw values behind `rows` / `column` (a status code,
    # a bucket's first day, an owner id; `None` where rolled up), and the `GET /v1/customers`
    # parameters listing exactly the customers behind the cell (empty when no list filter can).
    keys: tuple[str | None, ...] = ()
    column_key: str | None = None
    filter: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PivotResult:
    title: str
    rows: tuple[Dimension, ...]
    column: Dimension | None
    measures: tuple[Measure, ...]
    cells: tuple[PivotCell, ...]
    # Column values in display order (sorted / top N with "others" already applied by the engine).
    column_values: tuple[str, ...] = ()
    # (label, value) pairs describing the object, filters and time range, shown on files and emails.
    filters: tuple[tuple[str, str], ...] = ()
    chart: ChartKind = "table"
    locale: str = "en"
    time_zone: str = "UTC"
    generated_at: datetime | None = None
    # Added by the report builder (optional): raw values of `column_values`, in the same order, and
    # the fields whose measures the viewer's field policies dropped (docs/reporting.md).
    column_keys: tuple[str, ...] = ()
    omitted_fields: tuple[str, ...] = ()
    # The list parameter `report` of the cells whose filter is a `report_cell` (engine.report_token).
    cell_report: str = ""


@dataclass
class UnderlyingRows:
    """The records a pivot was computed from (one row per customer / order / record), streamed.

    `columns` are translated headers; each row has one value per column: str, int, Decimal,
    datetime/date or None. Renderers write them as the XLSX's Excel Table (the PivotTable's source)
    without holding them all in memory.
    """

    columns: Sequence[str]
    rows: Iterable[Sequence[object]] = field(default_factory=list)
