"""What goes into an export file: one cell per column from a customer as the caller may see it
(field policies already applied), CSV text per page (UTF-8, BOM added once for Excel), and the XLSX
workbook built from those pages with openpyxl's write-only (streaming) mode."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any, Final

from google.protobuf import json_format
from openpyxl import Workbook

from crm_platform.text import csv_cell, xlsx_cells
from crm_proto.crm.customers.v1 import customers_pb2 as pb

BOM: Final = "\ufeff"
CSV_TYPE: Final = "text/csv; charset=utf-8"
XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_PART_BYTES: Final = 1024 * 1024


def _timestamp(message: Any) -> str:
    if message.seconds == 0 and message.nanos == 0:
        return ""
    return str(message.ToDatetime().replace(microsecond=0).isoformat()) + "Z"


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ";".join(_plain(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def cell(message: pb.Customer, column: str) -> str:
    """The text of one column of a customer reply (hidden fields are already cleared)."""
    if column.startswith("cf."):
        key = column[3:]
        if key not in message.custom_fields.fields:
            return ""
        return _plain(json_format.MessageToDict(message.custom_fields).get(key))
    if column in ("created_at", "updated_at"):
        return _timestamp(getattr(message, column))
    if column == "employees":
        return str(message.employees) if message.HasField("employees") else ""
    return str(getattr(message, column))


def csv_text(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


def read_csv(text: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""))


class XlsxFile:
    """The workbook (one sheet, header row first), written page by page to a temporary file by
    openpyxl's write-only mode: memory stays at one page however many rows the export has."""

    def __init__(self, header: list[str]):
        self._workbook = Workbook(write_only=True)
        self._sheet = self._workbook.create_sheet("customers")
        self._sheet.append(xlsx_cells(self._sheet, header))

    def add_page(self, page: str) -> None:
        for row in read_csv(page):
            self._sheet.append(xlsx_cells(self._sheet, row))  # cells are CSV cells: already formula-safe

    def save(self) -> IO[bytes]:
        """The finished file: a temporary file, read from its start, deleted when closed."""
        handle = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
        self._workbook.save(handle)
        handle.seek(0)
        return handle
