"""A `PivotResult` as JSON (the API's run answer, docs/reporting.md "Result"): amounts and rates as
decimal strings (exact), counts as integers, `null` for a rolled-up dimension (a subtotal) or an
empty figure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crm_reporting.reports.result import CellValue, PivotResult


def _value(value: CellValue) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    return value


def result_json(result: PivotResult) -> dict[str, Any]:
    return {
        "title": result.title,
        "rows": [{"key": d.key, "label": d.label} for d in result.rows],
        "column": {"key": result.column.key, "label": result.column.label} if result.column else None,
        "measures": [{"key": m.key, "label": m.label, "kind": m.kind, "currency": m.currency or ""}
                     for m in result.measures],
        "column_values": list(result.column_values),
        "column_keys": list(result.column_keys),
        "cells": [{"rows": list(c.rows), "column": c.column, "keys": list(c.keys), "column_key": c.column_key,
                   "values": [_value(v) for v in c.values], "filter": dict(c.filter)} for c in result.cells],
        "filters": [{"label": label, "value": value} for label, value in result.filters],
        "chart": result.chart,
        "locale": result.locale,
        "time_zone": result.time_zone,
        "generated_at": result.generated_at.isoformat() if result.generated_at else "",
        "omitted_fields": list(result.omitted_fields),
        "cell_report": result.cell_report,
    }
