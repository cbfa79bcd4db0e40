"""What goes into an export file: one cell per column from a customer as the caller may see it
(field policies already applied), CSV text per page (UTF-8, BOM added once for Excel), and the XLSX
workbook built from those pages with openpyxl's write-only (streaming) mode."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Words:
    """What a file shows people instead of keys, codes and ids: headers and value labels in the
    requester's language (given by the gateway, kept with the export) and owners' names."""

    columns: Mapping[str, str] = field(default_factory=dict)  # column key -> header
    values: Mapping[str, str] = field(default_factory=dict)  # "status:won" -> "Won"
    owners: Mapping[str, str] = field(default_factory=dict)  # owner id -> display name

    @classmethod
    def stored(cls, labels: Mapping[str, Any], owners: Mapping[str, str] | None = None) -> Words:
        return cls(labels.get("columns") or {}, labels.get("values") or {}, owners or {})

    def header(self, columns: Iterable[str], custom_labels: Mapping[str, str]) -> list[str]:
        return [self.columns.get(c) or custom_labels.get(c[3:] if c.startswith("cf.") else "") or c for c in columns]


def cell(message: pb.Customer, column: str, words: Words | None = None) -> str:
    """The text of one column of a customer reply (hidden fields are already cleared)."""
    if words is not None:
        if column == "owner_id":
            return words.owners.get(message.owner_id) or message.owner_id
        if column in ("status", "type"):
            code = str(getattr(message, column))
            return words.values.get(f"{column}:{code}") or code
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
