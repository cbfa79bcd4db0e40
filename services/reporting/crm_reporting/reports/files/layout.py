"""The pivot laid out as people read it, shared by every report file (CSV, XLSX, PDF).

`PivotResult.cells` is long form, as ROLLUP / GROUPING SETS return it. The layout is the wide
table: the row dimensions down the left, then one column per (column value, measure) in the
engine's order, then the total across columns; body rows in the engine's order with each group's
subtotal after its members and the grand total last, labelled in the viewer's language. Nothing is
computed here: a cell the engine did not return stays empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crm_platform.i18n import Locale, locale_or_default, messages
from crm_reporting.reports.result import CellValue, Measure, PivotResult

RowKind = Literal["detail", "subtotal", "total"]


@dataclass(frozen=True)
class LayoutColumn:
    """One value column: a measure under one column value (`None`: the total across columns)."""

    column_value: str | None
    measure: Measure
    measure_index: int


@dataclass(frozen=True)
class LayoutRow:
    """One body row. `labels` has one entry per row dimension (already the text to show: a
    subtotal row reads "East", "Subtotal", "" for a subtotal of the first level of three);
    `level` is how many leading dimensions are grouped (the dimension count for detail rows,
    0 for the grand total)."""

    kind: RowKind
    level: int
    labels: tuple[str, ...]
    values: tuple[CellValue, ...]


@dataclass(frozen=True)
class Words:
    subtotal: str
    total: str
    grand_total: str
    values: str
    filters: str
    generated: str
    data: str
    pivot_table: str
    report: str


def words(locale: str) -> Words:
    text = messages(report_locale(locale))
    return Words(
        subtotal=text.gettext("Subtotal"),
        total=text.gettext("Total"),
        grand_total=text.gettext("Grand total"),
        values=text.gettext("Values"),
        filters=text.gettext("Filters"),
        generated=text.gettext("Generated"),
        data=text.gettext("Data"),
        pivot_table=text.gettext("Pivot table"),
        report=text.gettext("Report"),
    )


def report_locale(locale: str) -> Locale:
    return locale_or_default(locale)


@dataclass(frozen=True)
class Layout:
    result: PivotResult
    words: Words
    columns: tuple[LayoutColumn, ...]
    rows: tuple[LayoutRow, ...]

    @property
    def dimension_labels(self) -> tuple[str, ...]:
        return tuple(d.label for d in self.result.rows)

    def column_group(self, column: LayoutColumn) -> str:
        """The header above a value column: the column value, or "Total" for the total across
        columns (empty without a column dimension)."""
        if self.result.column is None:
            return ""
        return column.column_value if column.column_value is not None else self.words.total

    def flat_header(self) -> list[str]:
        """One header row (CSV): "<column value> · <measure>" when there is a column dimension
        and more than one measure."""
        header = list(self.dimension_labels)
        single = len(self.result.measures) == 1
        for column in self.columns:
            group = self.column_group(column)
            if not group:
                header.append(column.measure.label)
            elif single:
                header.append(group)
            else:
                header.append(f"{group} · {column.measure.label}")
        return header


def lay_out(result: PivotResult) -> Layout:
    said = words(result.locale)
    measures = result.measures
    has_column = result.column is not None
    # Which groupings across columns the engine returned: column values in display order (any the
    # engine returned without listing them come after, in order of appearance), then the total.
    seen_columns: list[str] = list(result.column_values)
    has_column_total = not has_column
    for cell in result.cells:
        if cell.column is None:
            has_column_total = True
        elif has_column and cell.column not in seen_columns:
            seen_columns.append(cell.column)
    column_keys: list[str | None] = [*seen_columns] if has_column else []
    if has_column_total:
        column_keys.append(None)
    columns = tuple(
        LayoutColumn(key, measure, index) for key in column_keys for index, measure in enumerate(measures)
    )

    # Row groupings in the engine's order of first appearance, as a tree.
    depth = len(result.rows)
    values: dict[tuple[tuple[str | None, ...], str | None], tuple[CellValue, ...]] = {}
    children: dict[tuple[str, ...], list[str]] = {}
    has_row = set()
    for cell in result.cells:
        key = tuple(cell.rows)
        values[(key, cell.column)] = cell.values
        has_row.add(key)
        prefix: list[str] = []
        for value in key:
            if value is None:
                break
            parent = tuple(prefix)
            siblings = children.setdefault(parent, [])
            if value not in siblings:
                siblings.append(value)
            prefix.append(value)

    def row_values(key: tuple[str | None, ...]) -> tuple[CellValue, ...]:
        out: list[CellValue] = []
        for column in columns:
            found = values.get((key, column.column_value))
            out.append(found[column.measure_index] if found is not None else None)
        return tuple(out)

    rows: list[LayoutRow] = []

    def walk(prefix: tuple[str, ...]) -> None:
        level = len(prefix)
        if level == depth:
            if prefix in has_row:
                rows.append(LayoutRow("detail", depth, prefix, row_values(prefix)))
            return
        for value in children.get(prefix, []):
            walk((*prefix, value))
        if level == 0:
            return
        key = (*prefix, *([None] * (depth - level)))
        if key in has_row:
            labels = (*prefix, said.subtotal, *([""] * (depth - level - 1)))
            rows.append(LayoutRow("subtotal", level, labels, row_values(key)))

    if depth:
        walk(())
    grand = tuple([None] * depth)
    if grand in has_row:
        labels = (said.grand_total, *([""] * (depth - 1))) if depth else ()
        rows.append(LayoutRow("total", 0, labels, row_values(grand)))
    return Layout(result, said, columns, tuple(rows))
