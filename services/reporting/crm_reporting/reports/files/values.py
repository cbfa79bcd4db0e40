"""How a measure's values are written: Excel number formats (money per currency, percent) and the
text a PDF or a CSV shows, in the viewer's language (CLDR through Babel).

Percent values are fractions (0.25 is 25 %), as Excel stores them."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache

from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol

from crm_platform.i18n import BABEL_LOCALES
from crm_reporting.reports.files.layout import report_locale
from crm_reporting.reports.result import CellValue, Measure

COUNT_FORMAT = "#,##0"
NUMBER_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@cache
def money_format(currency: str | None, locale: str) -> str:
    """An Excel format showing the currency's symbol in the viewer's language ("¥", "US$")."""
    if not currency:
        return NUMBER_FORMAT
    symbol = get_currency_symbol(currency, BABEL_LOCALES[report_locale(locale)]).replace('"', "")
    return f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00'


def excel_format(measure: Measure, locale: str) -> str:
    if measure.kind == "count":
        return COUNT_FORMAT
    if measure.kind == "percent":
        return PERCENT_FORMAT
    if measure.kind == "money":
        return money_format(measure.currency, locale)
    return NUMBER_FORMAT


def excel_value(value: CellValue) -> int | float | None:
    """Numbers as Excel stores them (a double); Decimal money keeps its cents exactly enough."""
    if value is None or isinstance(value, int):
        return value
    return float(value)


def display(value: CellValue, measure: Measure, locale: str) -> str:
    """The value as people read it (PDF, email)."""
    if value is None:
        return ""
    babel_locale = BABEL_LOCALES[report_locale(locale)]
    if measure.kind == "count":
        return format_decimal(value, format="#,##0", locale=babel_locale)
    if measure.kind == "percent":
        return format_percent(value, format="#,##0.0%", locale=babel_locale)
    if measure.kind == "money" and measure.currency:
        return format_currency(value, measure.currency, locale=babel_locale)
    return format_decimal(value, format="#,##0.##", locale=babel_locale)


def plain(value: CellValue, measure: Measure) -> str:
    """The value in a CSV: a plain number a spreadsheet reads back as a number (no grouping, no
    symbol), percent as "12.5%" (Excel reads that as the number 0.125 shown as a percent)."""
    if value is None:
        return ""
    if measure.kind == "percent":
        return f"{Decimal(str(value)) * 100:.1f}%"
    if measure.kind == "money":
        return f"{Decimal(str(value)):.2f}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def plain_cell(value: object, zone: tzinfo | None = None) -> str:
    """An underlying row's cell in a CSV; a time with a zone in `zone` (the tenant's), without it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not None and zone is not None:
            value = value.astimezone(zone).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
