"""Import templates as people open them: a CSV with a BOM (Excel reads UTF-8) or a workbook whose
first sheet has the header row styled and frozen, then an example row. Shared by the user import
(identity) and the customer import (customers)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="2F5AA8")


def csv_template(header: Sequence[str], example: Sequence[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerow(example)
    return out.getvalue().encode("utf-8-sig")


def style_header(sheet: Worksheet) -> None:
    for cell in sheet[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL


def template_workbook(title: str, header: Sequence[str], example: Sequence[str]) -> tuple[Workbook, Worksheet]:
    """The workbook and its first sheet: the header (styled, frozen) and the example row."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = title
    sheet.append(list(header))
    sheet.append(list(example))
    style_header(sheet)
    sheet.freeze_panes = "A2"
    return book, sheet
