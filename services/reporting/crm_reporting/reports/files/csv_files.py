"""CSV report files: UTF-8 with a BOM (Excel then reads Chinese correctly), CRLF line ends, every
text cell through the platform's CSV rule (printable, never run as a formula). Both writers yield
the file in chunks, so a response or a job can stream it without holding it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Final
from zoneinfo import ZoneInfo

from crm_platform.text import csv_cell
from crm_reporting.reports.files.layout import lay_out
from crm_reporting.reports.files.values import plain, plain_cell
from crm_reporting.reports.result import PivotResult, UnderlyingRows

BOM: Final = "\ufeff"
CSV_TYPE: Final = "text/csv; charset=utf-8"
CHUNK_ROWS: Final = 2000


def _chunks(rows: Iterable[Sequence[str]], chunk_rows: int) -> Iterator[bytes]:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending >= chunk_rows:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
            pending = 0
    if out.tell():
        yield out.getvalue().encode("utf-8")


def pivot_csv(result: PivotResult) -> Iterator[bytes]:
    """The pivot as laid out on screen: one header row (row dimensions, then "<column value> ·
    <measure>" columns and the total across columns), the body with each group's subtotal row after
    its members and the grand total last, labelled in the viewer's language."""
    layout = lay_out(result)

    def rows() -> Iterator[list[str]]:
        yield [csv_cell(h) for h in layout.flat_header()]
        for row in layout.rows:
            yield [
                *(csv_cell(label) for label in row.labels),
                *(plain(value, column.measure) for value, column in zip(row.values, layout.columns, strict=True)),
            ]

    return _chunks(rows(), CHUNK_ROWS)


def rows_csv(underlying: UnderlyingRows, time_zone: str = "UTC", chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
    """The records the pivot was computed from, one line each, read from `underlying.rows` as the
    file is consumed; times in the tenant's time zone."""
    zone = ZoneInfo(time_zone)

    def rows() -> Iterator[list[str]]:
        yield [csv_cell(h) for h in underlying.columns]
        for row in underlying.rows:
            yield [csv_cell(v) if isinstance(v, str) else plain_cell(v, zone) for v in row]

    return _chunks(rows(), chunk_rows)
