"""The user-import file: the template (header row in the caller's language, an example row, the
tenant's role names as a drop-down in xlsx) and reading an uploaded file back into rows.

Columns have stable keys (`email`, `display_name`, `roles`, `team`); a header cell may be the key or
its label in either language, so a template downloaded in Chinese and filled by an English-speaking
colleague still reads. XLSX is read with python-calamine, CSV as UTF-8 (with or without BOM) and
then GB 18030 (a superset of GBK, what Excel on a Chinese Windows saves)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Final

from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineWorkbook

from crm_platform.i18n import NC_, Msg, both, locale_or_default, messages
from crm_platform.spreadsheets import csv_template, style_header, template_workbook
from crm_platform.text import xlsx_cells

COLUMNS: Final = ("email", "display_name", "roles", "team")
REQUIRED: Final = ("email", "display_name")
HEADERS: Final[dict[str, Msg]] = {
    "email": NC_("user import column", "Email"),
    "display_name": NC_("user import column", "Display name"),
    "roles": NC_("user import column", "Roles"),
    "team": NC_("user import column", "Team"),
}
# More header spellings people type.
ALIASES: Final[dict[str, str]] = {
    "e-mail": "email", "emailaddress": "email", "邮箱地址": "email", "电子邮箱": "email", "电子邮件": "email",
    "name": "display_name", "displayname": "display_name", "显示名称": "display_name", "名字": "display_name",
    "role": "roles", "角色名称": "roles", "team/department": "team", "部门": "team", "团队/部门": "team",
}
# The template's example row: ignored when a file is read back (documented in docs/identity.md).
EXAMPLE_EMAIL: Final = "example.user@example.com"
EXAMPLE: Final[dict[str, Msg]] = {
    "display_name": NC_("user import example", "Li Lei"),
    "roles": NC_("user import example", "Sales rep, Customer service"),
    "team": NC_("user import example", "Sales/North"),
}
XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE: Final = "text/csv; charset=utf-8"


def _header_key(cell: str) -> str | None:
    text = re.sub(r"[\s*＊_]|（必填）|\(required\)", "", cell.strip().lower())
    for key, label in HEADERS.items():
        if text in (key.replace("_", ""), *(spelling.lower().replace(" ", "") for spelling in both(label))):
            return key
    return ALIASES.get(text)


@dataclass
class Sheet:
    """Rows as read: `rows[i]` is spreadsheet row `numbers[i]` (the header is row 1)."""

    columns: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, str]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


class NotASpreadsheet(ValueError):
    pass


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _raw_rows(filename: str, content: bytes) -> list[list[str]]:
    if content[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(content))
            sheet = book.get_sheet_by_index(0)
            return [[_cell(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
        except (ValueError, zipfile.BadZipFile, OSError, IndexError, Exception) as exc:  # calamine raises its own
            raise NotASpreadsheet("not a readable xlsx file") from exc
    if b"\x00" in content[:4096]:
        raise NotASpreadsheet("a binary file that is not xlsx")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise NotASpreadsheet("neither UTF-8 nor GBK text")
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise NotASpreadsheet(f"not CSV: {exc}") from exc


def read(filename: str, content: bytes) -> Sheet:
    """The header row (the first non-empty row) and the data rows after it; empty rows and the
    template's example row are skipped."""
    raw = _raw_rows(filename, content)
    sheet = Sheet()
    header_index = next((i for i, row in enumerate(raw) if any(row)), None)
    if header_index is None:
        return sheet
    for position, cell in enumerate(raw[header_index]):
        key = _header_key(cell)
        if key is not None and key not in sheet.columns:
            sheet.columns[key] = position
    sheet.missing = [k for k in REQUIRED if k not in sheet.columns]
    if not sheet.columns:
        raise NotASpreadsheet("no known column in the header row")
    for index in range(header_index + 1, len(raw)):
        row = raw[index]
        values = {k: (row[p] if p < len(row) else "") for k, p in sheet.columns.items()}
        if not any(values.values()) or values.get("email", "").lower() == EXAMPLE_EMAIL:
            continue
        sheet.rows.append(values)
        sheet.numbers.append(index + 1)
    return sheet


def template(fmt: str, locale: str, role_names: list[str], team_paths: list[str]) -> tuple[str, str, bytes]:
    """(filename, content type, bytes)."""
    text = messages(locale_or_default(locale))
    header = [text.text(HEADERS[k]) for k in COLUMNS]
    example = [EXAMPLE_EMAIL if k == "email" else text.text(EXAMPLE[k]) for k in COLUMNS]
    base = text.gettext("user-import-template")
    if fmt == "csv":
        return f"{base}.csv", CSV_TYPE, csv_template(header, example)
    book, sheet = template_workbook(text.pgettext("user import sheet", "Users"), header, example)
    for letter, width in zip("ABCD", (32, 18, 34, 28), strict=True):
        sheet.column_dimensions[letter].width = width
    # A reference sheet: the names the roles and team columns accept.
    ref = book.create_sheet(text.pgettext("user import sheet", "Roles and teams"))
    ref.append([text.pgettext("user import reference", "Roles"), text.pgettext("user import reference", "Teams")])
    style_header(ref)
    for i in range(max(len(role_names), len(team_paths))):
        # Names are the tenant's own text: a control character stored before the text rule, or a
        # name starting with "=", must neither break the workbook nor become a formula.
        ref.append(xlsx_cells(ref, [role_names[i] if i < len(role_names) else None,
                                    team_paths[i] if i < len(team_paths) else None]))
    ref.column_dimensions["A"].width = 28
    ref.column_dimensions["B"].width = 36
    if role_names:
        # A drop-down of one role; several may still be typed, separated by commas or 、.
        roles = DataValidation(type="list", formula1=f"'{ref.title}'!$A$2:$A${len(role_names) + 1}",
                               allow_blank=True, showErrorMessage=False)
        sheet.add_data_validation(roles)
        roles.add("C2:C5001")
    if team_paths:
        teams = DataValidation(type="list", formula1=f"'{ref.title}'!$B$2:$B${len(team_paths) + 1}",
                               allow_blank=True, showErrorMessage=False)
        sheet.add_data_validation(teams)
        teams.add("D2:D5001")
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    return f"{base}.xlsx", XLSX_TYPE, out_bytes.getvalue()
