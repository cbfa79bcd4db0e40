"""What a subscription mail carries: a chart image (PNG, drawn here: bars of the first chart panel;
the labels and figures are in the mail's HTML table next to it) and the XLSX attachment (one sheet
per panel, the same rows as the mail). The report-file renderers of saved reports (reports/files/)
replace these for kind `report`; a dashboard has no PivotResult."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PALETTE: Sequence[tuple[int, int, int]] = ((79, 70, 229), (14, 165, 233), (16, 185, 129), (245, 158, 11),
                                           (239, 68, 68), (139, 92, 246), (20, 184, 166), (249, 115, 22))


@dataclass
class Table:
    """One panel as rows: a title, a header and text cells; `bars` are the chart's values."""

    key: str
    title: str
    head: list[str]
    rows: list[list[str]] = field(default_factory=list)
    bars: list[float] = field(default_factory=list)


def number(text: str) -> float:
    try:
        return float(Decimal(text or "0"))
    except InvalidOperation:
        return 0.0


def png_bars(values: Sequence[float], width: int = 560, height: int = 220) -> bytes:
    """A bar chart as PNG (RGB, no text): one bar per value on a light grid."""
    background, grid = (255, 255, 255), (229, 231, 235)
    pixels = [[background] * width for _ in range(height)]
    for y in range(0, height, 44):
        for x in range(width):
            pixels[y][x] = grid
    top = max((v for v in values), default=0.0) or 1.0
    count = max(1, len(values))
    slot = width / count
    bar = max(2, int(slot * 0.7))
    for index, value in enumerate(values):
        colour = PALETTE[index % len(PALETTE)]
        bar_height = int((height - 10) * max(0.0, value) / top)
        left = int(index * slot + (slot - bar) / 2)
        for y in range(height - bar_height, height):
            row = pixels[y]
            for x in range(left, min(width, left + bar)):
                row[x] = colour
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def xlsx(tables: Sequence[Table], title: str) -> bytes:
    book = Workbook()
    first = True
    for table in tables:
        sheet = book.active if first else book.create_sheet()
        first = False
        assert sheet is not None
        sheet.title = (table.title or table.key)[:31].replace("/", "-")
        sheet.append([title])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append(table.head)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="EEF2FF")
        for row in table.rows:
            sheet.append([_cell(value) for value in row])
        sheet.freeze_panes = "A3"
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(50, max(10, width * 1.6))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: str) -> object:
    """Numbers as numbers (Excel sums them), text as text."""
    try:
        number_value = Decimal(value)
    except InvalidOperation:
        return value
    return int(number_value) if number_value == number_value.to_integral_value() and "." not in value else float(
        number_value)
