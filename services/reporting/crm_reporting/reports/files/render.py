"""One entry for whoever delivers a report file (an export job, a scheduled email): the file of a
format, its content type and its name."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Final, Literal
from zoneinfo import ZoneInfo

from crm_reporting.reports.files.csv_files import CSV_TYPE, pivot_csv, rows_csv
from crm_reporting.reports.files.layout import lay_out
from crm_reporting.reports.files.pdf_file import PDF_TYPE, write_pdf
from crm_reporting.reports.files.xlsx_file import XLSX_TYPE, PivotSource, write_xlsx
from crm_reporting.reports.result import PivotResult, UnderlyingRows

FileFormat = Literal["csv", "rows_csv", "xlsx", "pdf"]
FORMATS: Final[tuple[FileFormat, ...]] = ("csv", "rows_csv", "xlsx", "pdf")
CONTENT_TYPES: Final[dict[FileFormat, str]] = {
    "csv": CSV_TYPE, "rows_csv": CSV_TYPE, "xlsx": XLSX_TYPE, "pdf": PDF_TYPE,
}
_EXTENSIONS: Final[dict[FileFormat, str]] = {"csv": "csv", "rows_csv": "rows.csv", "xlsx": "xlsx", "pdf": "pdf"}
_UNSAFE: Final = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def file_name(result: PivotResult, fmt: FileFormat) -> str:
    """The report's title (characters no file system takes replaced), when it was made in the
    tenant's time zone, and the extension."""
    title = _UNSAFE.sub("_", result.title).strip(" ._") or "report"
    generated = result.generated_at
    stamp = generated.astimezone(ZoneInfo(result.time_zone)).strftime("%Y%m%d-%H%M") if generated is not None else ""
    return f"{title[:80]}{'-' + stamp if stamp else ''}.{_EXTENSIONS[fmt]}"


class _Counter:
    """The rows, counted as they are read, with progress every 10,000."""

    def __init__(self, rows: UnderlyingRows, progress: Callable[[int], None] | None):
        self.rows, self.progress, self.count = rows, progress, 0

    def __iter__(self) -> Iterator[Sequence[object]]:
        for row in self.rows.rows:
            self.count += 1
            if self.progress is not None and self.count % 10_000 == 0:
                self.progress(self.count)
            yield row


def write_report_file(
    fmt: FileFormat, result: PivotResult, underlying: UnderlyingRows | None, out: IO[bytes], *,
    source: PivotSource | None = None, progress: Callable[[int], None] | None = None,
) -> int:
    """Writes the file to `out`; returns the rows written: the underlying rows (rows' CSV, XLSX), or
    the pivot's rows (pivot CSV, PDF)."""
    rows = underlying if underlying is not None else UnderlyingRows(columns=[], rows=[])
    if fmt == "csv":
        for chunk in pivot_csv(result):
            out.write(chunk)
        return len(lay_out(result).rows)
    if fmt == "rows_csv":
        counter = _Counter(rows, progress)
        for chunk in rows_csv(UnderlyingRows(rows.columns, counter), result.time_zone):
            out.write(chunk)
        return counter.count
    if fmt == "xlsx":
        return write_xlsx(result, rows, out, source=source, progress=progress)
    write_pdf(result, out)
    return len(lay_out(result).rows)
