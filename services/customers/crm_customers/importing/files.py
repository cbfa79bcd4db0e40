"""Import files on disk: what kind a file is, its rows as text (streamed: a 1,048,576-row file is
never held in memory as cells), the template, and the error file (the upload's own rows with an
error column added, in the upload's format).

CSV is read in UTF-8 (with or without BOM), else GB 18030 (a superset of GBK, what Excel on a
Chinese Windows saves), decided on the first 64 KiB. XLSX is read with python-calamine (Rust; it
parses a 1M-row sheet several times faster than openpyxl's read-only mode and hands rows out one
at a time with `iter_rows`). openpyxl writes the template (drop-downs) and the XLSX error file in
write-only mode."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Final

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineWorkbook

from crm_customers.fields.service import FieldDef
from crm_customers.importing import columns
from crm_customers.settings.dictionaries import Dictionary
from crm_platform.i18n import N_, NC_, Messages, Msg, messages
from crm_platform.spreadsheets import csv_template, template_workbook
from crm_platform.text import printable, xlsx_cells

XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE: Final = "text/csv; charset=utf-8"
MAX_ROWS: Final = 1_048_576  # Excel's sheet limit, the header included
SNIFF: Final = 64 * 1024
csv.field_size_limit(1024 * 1024)


class NotASpreadsheet(ValueError):
    """`code`: unsupported_file or invalid_encoding."""

    def __init__(self, code: str, message: str, row: int = 0):
        super().__init__(message)
        self.code = code
        self.row = row


def kind_of(filename: str, head: bytes) -> tuple[str, str]:
    """(format, encoding) from the name and the first bytes."""
    if head[:4] == b"PK\x03\x04":
        return "xlsx", ""
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls")) or b"\x00" in head[:4096]:
        raise NotASpreadsheet("unsupported_file", "not an xlsx or csv file")
    if head.startswith(codecs.BOM_UTF8):
        return "csv", "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head[:SNIFF], final=False)
            return "csv", encoding
        except UnicodeDecodeError:
            continue
    raise NotASpreadsheet("invalid_encoding", "neither UTF-8 nor GBK text")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def rows(path: Path, fmt: str, encoding: str) -> Iterator[list[str]]:
    """Every row of the file (the first sheet of an xlsx) as trimmed text, the header included."""
    if fmt == "xlsx":
        try:
            book = CalamineWorkbook.from_path(str(path))
            sheet = book.get_sheet_by_index(0)
            for row in sheet.iter_rows():
                yield [_cell(v) for v in row]
        except (ValueError, zipfile.BadZipFile, OSError, IndexError, Exception) as exc:  # calamine raises its own
            if isinstance(exc, NotASpreadsheet):
                raise
            raise NotASpreadsheet("unsupported_file", "not a readable xlsx file") from exc
        return
    number = 0
    with path.open(encoding=encoding, newline="", errors="strict") as text:
        reader = csv.reader(text)
        try:
            for line in reader:
                number += 1
                yield [c.strip() for c in line]
        except UnicodeDecodeError as exc:
            raise NotASpreadsheet("invalid_encoding", f"undecodable text after row {number}", number + 1) from exc
        except csv.Error as exc:
            raise NotASpreadsheet("unsupported_file", f"not CSV: {exc}", number + 1) from exc


def estimate_rows(path: Path, fmt: str) -> int:
    """Data rows, for the progress bar before the file has been read: the sheet's height, or the
    line count of a CSV (a quoted line break counts twice)."""
    if fmt == "xlsx":
        # The first sheet's <dimension ref="A1:U1048576"/>, near the top of its XML: no parse.
        try:
            with zipfile.ZipFile(path) as book:
                sheets = sorted(n for n in book.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
                with book.open(sheets[0]) as sheet:
                    head = sheet.read(4096).decode("utf-8", "replace")
            found = re.search(r'<dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"', head)
            return max(int(found.group(1)) - 1, 0) if found else 0
        except (zipfile.BadZipFile, OSError, IndexError, KeyError):
            return 0
    lines = 0
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            lines += block.count(b"\n")
    return max(lines - 1, 0)


def header_row(path: Path, fmt: str, encoding: str) -> tuple[int, list[str]]:
    """(row number, cells) of the first non-empty row; (0, []) for an empty file."""
    for number, row in enumerate(rows(path, fmt, encoding), start=1):
        if any(row):
            return number, row
    return 0, []


# -- the template ----------------------------------------------------------------------------

def _choices(name: str, dictionary: Dictionary, locale: str) -> list[str]:
    out = []
    for entry in dictionary.entries:
        label = (entry.label_zh if locale == "zh-CN" else entry.label_en) or entry.label
        out.append(entry.path if name == "region" and entry.path else label)
    return out


NOTES: Final[tuple[Msg, ...]] = (
    N_("How to fill in this template"),
    N_("One customer per row; the first row is the header (Chinese or English names both work)."),
    N_("Customer name is required, and a mobile, phone or email."),
    N_("Mobile: 11-digit Chinese mobile numbers, or international numbers with +country code."),
    N_("Dates as YYYY-MM-DD (e.g. 2024-01-15)."),
    N_("Industry, region, source, type and status: pick from the drop-down lists."),
    N_("Leave the customer code empty to have it generated from the company's code pattern."),
    N_("Resident ID and bank card numbers are stored encrypted."),
    N_("Upload the file under Customers > Import: the system checks every row before anything is written."),
)
# The example row: data that reads naturally in each language (types and statuses as in the drop-downs).
EXAMPLE: Final[dict[str, Msg | str]] = {
    "name": NC_("customer import example", "Example Technology Co., Ltd."), "type": columns.TYPE_LABELS[1],
    "contact_person": NC_("customer import example", "Zhang San"), "mobile": "13800138000",
    "email": "zhangsan@example.com", "first_contact_date": "2024-01-15", "status": columns.STATUS_LABELS[0],
}
TEMPLATE_FIELDS: Final = columns.FIELDS


def _example(text: Messages, key: str) -> str:
    value = EXAMPLE.get(key, "")
    return value if isinstance(value, str) else text.text(value)


def template(fmt: str, locale: str, dictionaries: dict[str, Dictionary], custom: list[FieldDef]
             ) -> tuple[str, str, bytes]:
    """(filename, content type, bytes): the header in the caller's language, an example row (an
    example row uploaded back is imported like any other: delete it), and for xlsx drop-downs
    from the tenant's dictionaries and a notes sheet."""
    lang = "zh-CN" if locale == "zh-CN" else "en"
    text = messages(lang)
    keys = list(TEMPLATE_FIELDS) + [columns.CUSTOM_PREFIX + d.key for d in custom]
    by_key = {d.key: d for d in custom}
    header = [columns.header_for(k, lang, by_key) + (" *" if k in columns.REQUIRED else "") for k in keys]
    example = [_example(text, k) for k in keys]
    base = text.gettext("customer-import-template")
    if fmt == "csv":
        return f"{base}.csv", CSV_TYPE, csv_template(header, example)
    book, sheet = template_workbook(text.pgettext("customer import sheet", "Customers"), header, example)
    lists = book.create_sheet(text.pgettext("customer import sheet", "Lists"))
    choice_lists: dict[str, list[str]] = {
        "type": [text.text(m) for m in columns.TYPE_LABELS], "status": [text.text(m) for m in columns.STATUS_LABELS],
        **{name: _choices(name, d, lang) for name, d in dictionaries.items()},
        **{columns.CUSTOM_PREFIX + d.key: list(d.options) for d in custom if d.options},
    }
    used_lists = 0
    for index, key in enumerate(keys):
        letter = sheet.cell(row=1, column=index + 1).column_letter
        sheet.column_dimensions[letter].width = 24 if key not in ("name", "needs", "notes") else 34
        values = choice_lists.get(key)
        if not values:
            continue
        used_lists += 1
        list_column = lists.cell(row=1, column=used_lists)
        list_column.value = header[index]
        list_letter = list_column.column_letter
        for offset, value in enumerate(values, start=2):
            cell = lists.cell(row=offset, column=used_lists)
            cell.value = printable(value)
            cell.data_type = "s"  # tenant text: never a formula
        source = f"'{lists.title}'!${list_letter}$2:${list_letter}${len(values) + 1}"
        check = DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=False)
        sheet.add_data_validation(check)
        check.add(f"{letter}2:{letter}{MAX_ROWS}")
    notes = book.create_sheet(text.pgettext("customer import sheet", "Notes"))
    for line in NOTES:
        notes.append([text.text(line)])
    notes["A1"].font = Font(bold=True)
    notes.column_dimensions["A"].width = 100
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    return f"{base}.xlsx", XLSX_TYPE, out_bytes.getvalue()


# -- the error file --------------------------------------------------------------------------

def error_file(path: Path, fmt: str, encoding: str, problems: dict[int, str], error_header: str,
               out: Path) -> None:
    """The upload's header and its rows with problems, each with `error_header` added as the
    last column holding that row's messages, written to `out` in the upload's format (CSV keeps
    the upload's encoding, so Excel on a Chinese Windows opens a GBK file as it was)."""
    header_number = 0
    if fmt == "csv":
        with out.open("w", encoding=encoding, newline="", errors="replace") as target:
            writer = csv.writer(target, lineterminator="\r\n")
            for number, row in enumerate(rows(path, fmt, encoding), start=1):
                if not header_number and any(row):
                    header_number = number
                    writer.writerow([*row, error_header])
                elif number in problems:
                    writer.writerow([*row, problems[number]])
        return
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for number, row in enumerate(rows(path, fmt, encoding), start=1):
        if not header_number and any(row):
            header_number = number
            sheet.append(xlsx_cells(sheet, [*row, error_header]))
        elif number in problems:
            sheet.append(xlsx_cells(sheet, [*row, problems[number]]))
    book.save(str(out))
