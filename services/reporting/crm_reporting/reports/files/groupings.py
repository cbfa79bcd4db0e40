"""The pivot's finest groupings as rows: what an export puts on the XLSX's data sheet while the
engine does not stream the underlying records (`UnderlyingRows`) itself.

One row per detail cell (every row dimension and the column dimension set): the dimension values,
then the measures. The native PivotTable over them re-aggregates what adds up exactly: counts and
sums are summed, minimums and maximums taken again; averages, distinct counts and conversion
rates do not add up and stay on the report sheet only."""

from __future__ import annotations

from typing import Final

from crm_reporting.reports.files.xlsx_file import Aggregate, PivotSource
from crm_reporting.reports.result import PivotResult, UnderlyingRows

_REAGGREGATE: Final[dict[str, Aggregate]] = {"count": "sum", "sum": "sum", "min": "min", "max": "max"}


def groupings_as_rows(result: PivotResult) -> tuple[UnderlyingRows, PivotSource]:
    dims = [d.label for d in result.rows] + ([result.column.label] if result.column is not None else [])
    columns = [*dims, *(m.label for m in result.measures)]
    detail = [
        cell for cell in result.cells
        if all(v is not None for v in cell.rows) and (result.column is None or cell.column is not None)
    ]
    rows = [[*cell.rows, *([cell.column] if result.column is not None else []), *cell.values] for cell in detail]
    values = []
    for index, measure in enumerate(result.measures):
        aggregate = _REAGGREGATE.get(measure.key.split(":", 1)[0])
        if aggregate is not None and measure.kind != "percent":
            values.append((len(dims) + index, aggregate, measure.label))
    source = PivotSource(
        rows=tuple(range(len(result.rows))),
        column=len(result.rows) if result.column is not None else None,
        values=tuple(values),
    )
    return UnderlyingRows(columns, rows), source
