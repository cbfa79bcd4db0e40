"""/app/reports: the report builder page (issue 15, docs/reporting.md "Report builder").

- `/app/reports`: the quick-template gallery and the saved reports the viewer may see.
- `/app/reports/build?...`: the builder. The definition travels in the query string (object, time
  range, up to three filters, three row dimensions, a column dimension, measures, top N, sort,
  chart), so a result is a link; it runs through `RunReport` with the session's token, i.e. under
  the viewer's own data scope and field policies. The result is a pivot table with subtotals and the
  grand total, and an ECharts chart (static/reports.js); a cell opens the customer list filtered to
  exactly its customers when a list filter can express them.
- `/app/reports/{id}`: a saved report in the builder (run as the viewer); save, clone, share and
  delete are POST forms with the session's CSRF token.
- Exports (docs/reporting.md, "Report exports"): the saved report's Export buttons POST
  `/app/reports/{id}/exports`, which starts the export job (`CreateReportExport`, as the REST API
  does) and redirects to `/app/reports/{id}/exports/{export_id}`: the job's page, refreshing every
  second while it runs (the customer export's pattern, so a reload or coming back resumes it), with
  the download (`.../file`) once it succeeded. An unsaved definition shows a hint to save it first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.responses import RedirectResponse, Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.api.dashboards import saved_segment, viewer_segments
from crm_gateway.api.report_exports import _parts as export_parts
from crm_gateway.api.saved_reports import saved_view_filters, tenant_time_zone
from crm_gateway.i18n import N_, Locale, Msg, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import (
    SessionDep,
    csrf_ok,
    flash_message,
    flash_text,
    problem_text,
    raise_if_signed_out,
    session_scopes,
)
from crm_gateway.web.session import WebCookies
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.reporting.v1 import report_exports_pb2 as export_pb
from crm_proto.crm.reporting.v1 import reports_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

MAX_FILTER_ROWS: Final = 3
DIMENSIONS: Final[dict[str, Msg]] = {
    "industry": N_("Industry"), "region:1": N_("Region (level 1)"), "region:2": N_("Region (level 2)"),
    "region:3": N_("Region (level 3)"), "status": N_("Status"), "type": N_("Customer type"), "owner": N_("Owner"),
    "team": N_("Team"), "source": N_("Source channel"), "value_segment": N_("Value segment"),
    "tag": N_("Tag"), "customer": N_("Customer"),
    "created_at:day": N_("Created (day)"), "created_at:week": N_("Created (week)"),
    "created_at:month": N_("Created (month)"), "created_at:quarter": N_("Created (quarter)"),
    "created_at:year": N_("Created (year)"), "first_contact_date:month": N_("First contact (month)"),
}
ORDER_DIMENSIONS: Final[dict[str, Msg]] = {
    "order_status": N_("Order status"), "order_kind": N_("Order kind"), "currency": N_("Currency"),
    "ordered_on:day": N_("Order date (day)"), "ordered_on:week": N_("Order date (week)"),
    "ordered_on:month": N_("Order date (month)"), "ordered_on:quarter": N_("Order date (quarter)"),
    "ordered_on:year": N_("Order date (year)"),
}
CUSTOMER_MEASURES: Final[dict[str, Msg]] = {
    "count": N_("Number of customers"), "sum:annual_spend": N_("Annual spend (sum)"),
    "avg:annual_spend": N_("Annual spend (average)"), "sum:lifetime_value": N_("Lifetime value (sum)"),
    "avg:lifetime_value": N_("Lifetime value (average)"), "max:lifetime_value": N_("Lifetime value (maximum)"),
    "sum:order_count": N_("Orders to date (sum)"),
    "conversion:potential:won": N_("Conversion potential → won"),
    "conversion:intent:won": N_("Conversion intent → won"),
    "conversion:potential:intent": N_("Conversion potential → intent"),
}
ORDER_MEASURES: Final[dict[str, Msg]] = {
    "count": N_("Number of orders"), "distinct_customers": N_("Distinct customers"),
    "sum:amount": N_("Amount (sum)"), "avg:amount": N_("Amount (average)"), "min:amount": N_("Amount (minimum)"),
    "max:amount": N_("Amount (maximum)"),
}
# The follow-up objects' own dimensions, measures and filters (besides the customer's, as on orders).
RECORD_DIMENSIONS: Final[dict[str, dict[str, Msg]]] = {
    "followup_records": {
        "followed_by": N_("Followed up by"), "method": N_("Follow-up method"), "result": N_("Follow-up result"),
        "followed_at:day": N_("Followed up at (day)"), "followed_at:week": N_("Followed up at (week)"),
        "followed_at:month": N_("Followed up at (month)"), "followed_at:quarter": N_("Followed up at (quarter)"),
        "followed_at:year": N_("Followed up at (year)")},
    "feedback": {
        "channel": N_("Feedback channel"), "category": N_("Feedback category"), "rating": N_("Rating"),
        "sentiment": N_("Sentiment"), "survey_kind": N_("Survey kind"),
        "received_at:day": N_("Feedback received (day)"), "received_at:week": N_("Feedback received (week)"),
        "received_at:month": N_("Feedback received (month)"),
        "received_at:quarter": N_("Feedback received (quarter)"), "received_at:year": N_("Feedback received (year)")},
    "customer_activity": {
        "activity": N_("Activity"), "happened_at:day": N_("Happened (day)"), "happened_at:week": N_("Happened (week)"),
        "happened_at:month": N_("Happened (month)"), "happened_at:quarter": N_("Happened (quarter)"),
        "happened_at:year": N_("Happened (year)")},
}
RECORD_MEASURES: Final[dict[str, dict[str, Msg]]] = {
    "followup_records": {"count": N_("Number of follow-ups"), "distinct_customers": N_("Distinct customers"),
                         "conversion:potential:won": N_("Conversion potential → won")},
    "feedback": {"count": N_("Number of feedback"), "distinct_customers": N_("Distinct customers"),
                 "avg:rating": N_("Rating (average)"), "csat": N_("CSAT (rated 4-5)"), "nps": N_("NPS")},
    "customer_activity": {"distinct_customers": N_("Distinct customers"),
                          "count": N_("Number of activities")},
}
RECORD_FILTERS: Final[dict[str, dict[str, Msg]]] = {
    "followup_records": {"followed_by": N_("Followed up by"), "method": N_("Follow-up method"),
                         "result": N_("Follow-up result")},
    "feedback": {"channel": N_("Feedback channel"), "category": N_("Feedback category"), "rating": N_("Rating"),
                 "sentiment": N_("Sentiment")},
    "customer_activity": {"activity": N_("Activity")},
}
FILTER_FIELDS: Final[dict[str, Msg]] = {
    "industry": N_("Industry"), "region": N_("Region"), "status": N_("Status"), "type": N_("Customer type"),
    "source": N_("Source channel"), "owner": N_("Owner"), "value_segment": N_("Value segment"),
    "order_status": N_("Order status"), "currency": N_("Currency"),
}
OPERATORS: Final[dict[str, Msg]] = {"eq": N_("is"), "ne": N_("is not"), "contains": N_("contains"),
                                    "prefix": N_("starts with")}
RANGES: Final[dict[str, Msg]] = {"all": N_("All time"), "3m": N_("Last 3 months"), "12m": N_("Last 12 months"),
                                 "ytd": N_("This year"), "custom": N_("Custom")}
CHARTS: Final[dict[str, Msg]] = {"table": N_("Table only"), "bar": N_("Bar chart"), "line": N_("Line chart"),
                                 "pie": N_("Pie chart")}
# Field names `omitted_fields` may carry, as the page shows them.
OMITTED_LABELS: Final[dict[str, Msg]] = {"annual_spend": N_("Annual spend"), "lifetime_value": N_("Lifetime value"),
                                         "status": N_("Status")}
VISIBILITIES: Final[dict[str, Msg]] = {"private": N_("Only me"), "team": N_("My team"), "tenant": N_("Everyone")}
# The page's export buttons (the API has `rows_csv` too).
EXPORT_FORMATS: Final[dict[str, Msg]] = {"xlsx": N_("Excel (XLSX)"), "csv": N_("CSV"), "pdf": N_("PDF")}
EXPORT_FINISHED: Final = frozenset({"succeeded", "failed", "expired"})
# A flash for the Export card (shown there as an error) rather than the page's banner.
EXPORT_FLASH: Final = "export"


def _dimension(text: str) -> dict[str, Any] | None:
    if not text:
        return None
    name, _, extra = text.partition(":")
    if name == "region":
        return {"field": name, "level": int(extra) if extra.isdigit() else 1}
    return {"field": name, "bucket": extra} if extra else {"field": name}


def _measure(text: str) -> dict[str, Any]:
    parts = text.split(":")
    if parts[0] == "conversion" and len(parts) == 3:
        return {"agg": "conversion", "from": parts[1], "to": parts[2]}
    if len(parts) == 2:
        return {"agg": parts[0], "field": parts[1]}
    return {"agg": parts[0]}


def _dimension_text(d: dict[str, Any] | None) -> str:
    if not d:
        return ""
    if d.get("bucket"):
        return f"{d['field']}:{d['bucket']}"
    if d.get("level"):
        return f"{d['field']}:{d['level']}"
    return str(d["field"])


def _measure_text(m: dict[str, Any]) -> str:
    if m["agg"] == "conversion":
        return f"conversion:{m['from']}:{m['to']}"
    return f"{m['agg']}:{m['field']}" if m.get("field") else str(m["agg"])


def definition_from_query(params: Any) -> dict[str, Any]:
    """The builder's query string as a definition (the service validates it)."""
    get = lambda name: str(params.get(name) or "")  # noqa: E731
    object_name = get("object") or "customers"
    rows = [d for d in (_dimension(get(f"row{i}")) for i in range(3)) if d]
    measures = [_measure(m) for m in params.getlist("m") if m] or [{"agg": "count"}]
    filters = []
    for i in range(MAX_FILTER_ROWS):
        name, value = get(f"f{i}_field"), get(f"f{i}_value")
        if name and value:
            filters.append({"field": name, "op": get(f"f{i}_op") or "eq", "values": [value]})
    definition: dict[str, Any] = {"object": object_name, "rows": rows, "measures": measures, "filters": filters,
                                  "chart": get("chart") or "table"}
    if column := _dimension(get("col")):
        definition["column"] = column
    if (range_ := get("range")) and range_ != "all":
        definition["time_range"] = {"range": range_, "from": get("from"), "to": get("to")}
    if get("top_n").isdigit() and int(get("top_n")):
        definition["top_n"] = int(get("top_n"))
    if get("sort") in ("label", "measure"):
        definition["sort"] = {"by": get("sort"), "direction": "asc" if get("sort") == "label" else "desc"}
    if get("currency"):
        definition["currency"] = get("currency")
    if get("segment"):
        definition["segment_id"] = get("segment")
    return definition


def query_from_definition(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """A definition as the builder's query string (a saved report or a template opened in the builder)."""
    items: list[tuple[str, str]] = [("object", str(definition.get("object", "customers")))]
    for i, row in enumerate(definition.get("rows") or []):
        items.append((f"row{i}", _dimension_text(row)))
    if definition.get("column"):
        items.append(("col", _dimension_text(definition["column"])))
    items += [("m", _measure_text(m)) for m in definition.get("measures") or []]
    for i, f in enumerate((definition.get("filters") or [])[:MAX_FILTER_ROWS]):
        items += [(f"f{i}_field", f["field"]), (f"f{i}_op", f.get("op", "eq")),
                  (f"f{i}_value", ",".join(f.get("values") or []))]
    time_range = definition.get("time_range") or {}
    if time_range.get("range", "all") != "all":
        items += [("range", time_range["range"]), ("from", time_range.get("from", "")),
                  ("to", time_range.get("to", ""))]
    if definition.get("top_n"):
        items.append(("top_n", str(definition["top_n"])))
    if (definition.get("sort") or {}).get("by") == "label":
        items.append(("sort", "label"))
    items.append(("chart", str(definition.get("chart", "table"))))
    if definition.get("currency") and definition["currency"] != "CNY":
        items.append(("currency", definition["currency"]))
    if definition.get("segment_id"):
        items.append(("segment", str(definition["segment_id"])))
    return items


def _format(value: Any, kind: str, currency: str, locale: Locale) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return formatting.money(str(value), currency or "CNY", locale)
    if kind == "percent":
        return f"{Decimal(str(value)) * 100:.1f}%"
    if kind == "count":
        return formatting.number(int(value), locale)
    return formatting.number(Decimal(str(value)), locale)


@dataclass
class PivotTable:
    """The result laid out: one line per row group (subtotals and the grand total included), one
    column per column value x measure (then the totals across columns)."""

    head_rows: list[str]
    head_columns: list[tuple[str, list[str]]]  # (column value label, measure labels)
    lines: list[dict[str, Any]] = field(default_factory=list)
    chart: dict[str, Any] = field(default_factory=dict)


def pivot_table(result: dict[str, Any], locale: Locale) -> PivotTable:
    t = messages(locale)
    measures = result["measures"]
    column = result["column"]
    column_keys: list[str | None] = [*result["column_keys"], None] if column else [None]
    column_labels = [*result["column_values"], t.gettext("Total")] if column else [""]
    table = PivotTable([d["label"] for d in result["rows"]] or [""],
                       [(label, [m["label"] for m in measures]) for label in column_labels])
    by_row: dict[tuple[Any, ...], dict[str | None, dict[str, Any]]] = {}
    order: list[tuple[Any, ...]] = []
    labels: dict[tuple[Any, ...], list[str | None]] = {}
    for cell in result["cells"]:
        key = tuple(cell["keys"])
        if key not in by_row:
            by_row[key] = {}
            order.append(key)
            labels[key] = cell["rows"]
        by_row[key][cell["column_key"]] = cell
    depth = len(result["rows"])
    for key in order:
        rolled = sum(1 for k in key if k is None)
        kind = "total" if depth == 0 or rolled == depth else ("subtotal" if rolled else "row")
        shown = [label if label is not None else "" for label in labels[key]]
        if kind == "total":
            shown = [t.gettext("Grand total")] + [""] * (depth - 1) if depth else [t.gettext("Total")]
        elif kind == "subtotal":
            first_rolled = key.index(None)
            shown = [*shown[:first_rolled - 1], t.gettext("%(name)s total", name=shown[first_rolled - 1]),
                     *[""] * (depth - first_rolled)]
        values = []
        for column_key in column_keys:
            cell = by_row[key].get(column_key)
            link = cell_link(result, cell) if cell else ""
            for index, measure in enumerate(measures):
                raw = cell["values"][index] if cell else None
                values.append({"text": _format(raw, measure["kind"], measure["currency"], locale) if cell else "",
                               "link": link if index == 0 else ""})
        table.lines.append({"kind": kind, "labels": shown, "cells": values})
    table.chart = _chart(result, by_row, order, depth)
    return table


def cell_link(result: dict[str, Any], cell: dict[str, Any]) -> str:
    """The customer list of exactly the cell's customers: its list filter, or (a cell no list
    parameter expresses) `report_cell` with the run's `cell_report`."""
    params = dict(cell.get("filter") or {})
    if "report_cell" in params:
        params["report"] = result.get("cell_report", "")
    return "/app/customers" + (f"?{urlencode(params)}" if params else "")


def _chart(result: dict[str, Any], by_row: dict[tuple[Any, ...], dict[str | None, dict[str, Any]]],
           order: list[tuple[Any, ...]], depth: int) -> dict[str, Any]:
    """The chart's data: the first row dimension's groups (their subtotals) as categories; one series
    per column value, else per measure (a pie: the first measure)."""
    if depth == 0 or result["chart"] == "table":
        return {}
    groups = [k for k in order if k[0] is not None and all(x is None for x in k[1:])]
    categories = [by_row[k][None]["rows"][0] if None in by_row[k] else str(k[0]) for k in groups]
    links = [cell_link(result, by_row[k][None]) if None in by_row[k] else "" for k in groups]

    def number(cell: dict[str, Any] | None, index: int) -> float | None:
        if not cell or cell["values"][index] is None:
            return None
        return float(Decimal(str(cell["values"][index])))

    measures = result["measures"]
    if result["column"] and result["chart"] != "pie":
        series = [{"name": label, "values": [number(by_row[k].get(ck), 0) for k in groups]}
                  for ck, label in zip(result["column_keys"], result["column_values"], strict=True)]
        stacked = True
    else:
        shown = measures[:1] if result["chart"] == "pie" else measures
        series = [{"name": m["label"], "values": [number(by_row[k].get(None), i) for k in groups],
                   "kind": m["kind"], "currency": m["currency"]} for i, m in enumerate(shown)]
        stacked = False
    return {"type": result["chart"], "categories": categories, "series": series, "links": links,
            "stacked": stacked, "title": result["title"]}


def _options(t: Any, table: dict[str, Msg]) -> list[tuple[str, str]]:
    return [(key, t.text(msg)) for key, msg in table.items()]


@router.get("/reports")
async def reports_home(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    locale = page_locale(request)
    caller = session_caller(request, session)
    cookies: WebCookies = request.app.state.web_cookies
    context: dict[str, Any] = {"session": session, "templates": [], "reports": [], "error": "",
                               "can_read": "reports:read" in session_scopes(session),
                               "flash": flash_text(cookies.read_flash(request), locale)}
    if context["can_read"]:
        try:
            templates = await caller.call(services.reports.ListReportTemplates,
                                          pb.ListReportTemplatesRequest(locale=locale))
            saved = await caller.call(services.reports.ListReports, pb.ListReportsRequest())
        except UpstreamError as exc:
            raise_if_signed_out(request, exc)
            context["error"] = problem_text(exc, locale)
        else:
            t = messages(locale)
            context["templates"] = [
                {"key": x.key, "name": x.name, "description": x.description,
                 "link": "/app/reports/build?" + urlencode(
                     [*query_from_definition(json.loads(x.definition_json)), ("template", x.key)])}
                for x in templates.templates]
            context["reports"] = [
                {"id": r.id, "name": r.name, "description": r.description, "editable": r.editable,
                 "visibility": t.text(VISIBILITIES.get(r.visibility, N_("Only me"))),
                 "updated": r.updated_at[:10]} for r in saved.reports]
    response = render(request, "reports.html", context)
    cookies.clear_flash(request, response)
    return response


async def _builder(request: Request, session: Any, services: Any, definition: dict[str, Any],
                   saved: pb.Report | None) -> Response:
    locale = page_locale(request)
    t = messages(locale)
    caller = session_caller(request, session)
    cookies: WebCookies = request.app.state.web_cookies
    scopes = session_scopes(session)
    object_name = str(definition.get("object") or "customers")
    dims = dict(DIMENSIONS) | (ORDER_DIMENSIONS if object_name == "orders" else {}) | RECORD_DIMENSIONS.get(
        object_name, {})
    measures = RECORD_MEASURES.get(object_name) or (ORDER_MEASURES if object_name == "orders" else CUSTOMER_MEASURES)
    form = dict(query_from_definition(definition))
    flash = cookies.read_flash(request)
    export_flash = bool(flash and flash.get("where") == EXPORT_FLASH)
    context: dict[str, Any] = {
        "session": session, "saved": saved, "error": "", "errors": [], "table": None, "result": None, "omitted": [],
        "can_read": "reports:read" in scopes, "can_share_tenant": "reports:manage" in scopes,
        "object": object_name, "form": form,
        "rows": [form.get(f"row{i}", "") for i in range(3)], "col": form.get("col", ""),
        "measures_on": {_measure_text(m) for m in definition.get("measures") or [{"agg": "count"}]},
        "filters": [(f.get("field", ""), f.get("op", "eq"), ",".join(f.get("values") or []))
                    for f in (definition.get("filters") or [])][:MAX_FILTER_ROWS],
        "dimension_options": _options(t, dims), "measure_options": _options(t, measures),
        "filter_options": _options(t, FILTER_FIELDS | RECORD_FILTERS.get(object_name, {})),
        "operator_options": _options(t, OPERATORS),
        "range_options": _options(t, RANGES), "chart_options": _options(t, CHARTS),
        "visibility_options": [(k, v) for k, v in _options(t, VISIBILITIES)
                               if k != "tenant" or "reports:manage" in scopes],
        "query": urlencode(query_from_definition(definition)),
        "flash": None if export_flash else flash_text(flash, locale),
        "export_error": flash_text(flash, locale) if export_flash else None,
        "export_options": _options(t, EXPORT_FORMATS), "segment_options": [],
        "template": request.query_params.get("template", ""),
    }
    context["filters"] += [("", "eq", "")] * (MAX_FILTER_ROWS - len(context["filters"]))
    if context["can_read"]:
        try:  # the object picker: the segments the viewer may read (none if customers is unavailable)
            context["segment_options"] = [(x.id, x.name) for x in await viewer_segments(caller, services)]
        except UpstreamError as exc:
            raise_if_signed_out(request, exc)
    if context["can_read"]:
        try:
            request_pb = pb.RunReportRequest(
                locale=locale, time_zone=await tenant_time_zone(caller, services), id=saved.id if saved else "",
                view_filters=await saved_view_filters(caller, services, str(definition.get("view_id") or "")),
                segment_definition=await saved_segment(caller, services, str(definition.get("segment_id") or ""))
                if definition.get("segment_id") else None,
                definition_json="" if saved else json.dumps(definition, ensure_ascii=False))
            reply = await caller.call(services.reports.RunReport, request_pb)
        except UpstreamError as exc:
            raise_if_signed_out(request, exc)
            context["error"] = problem_text(exc, locale)
            context["errors"] = [e.get("field", "") for e in exc.error.errors]
        else:
            result = json.loads(reply.result_json)
            context["result"] = result
            context["omitted"] = [t.text(OMITTED_LABELS[f]) if f in OMITTED_LABELS else f
                                  for f in result["omitted_fields"]]
            context["table"] = pivot_table(result, locale)
    response = render(request, "report_builder.html", context)
    cookies.clear_flash(request, response)
    return response


@router.get("/reports/build")
async def report_build(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _builder(request, session, services, definition_from_query(request.query_params), None)


@router.get("/reports/{report_id}")
async def report_open(report_id: str, request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    try:
        saved = await caller.call(services.reports.GetReport, pb.GetReportRequest(id=report_id))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        locale = page_locale(request)
        return render(request, "message.html", {
            "session": session, "title": messages(locale).gettext("Report not found"),
            "message": problem_text(exc, locale), "link": ("/app/reports", messages(locale).gettext("Reports"))},
            status_code=404)
    return await _builder(request, session, services, json.loads(saved.definition_json), saved)


@router.post("/reports/save")
async def report_save(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """Save the builder's definition as a new report, or (with `report_id`) change the saved one."""
    form = await request.form()
    query = str(form.get("query") or "")
    report_id = str(form.get("report_id") or "")
    back = f"/app/reports/{report_id}" if report_id else f"/app/reports/build?{query}"
    response = RedirectResponse(back, status_code=303)
    if not csrf_ok(form, session):
        return response
    cookies: WebCookies = request.app.state.web_cookies
    caller = session_caller(request, session)
    from urllib.parse import parse_qs

    from starlette.datastructures import MultiDict

    params = MultiDict([(k, v) for k, values in parse_qs(query).items() for v in values])
    definition = json.dumps(definition_from_query(params), ensure_ascii=False)
    name, visibility = str(form.get("name") or "").strip(), str(form.get("visibility") or "private")
    try:
        if report_id:
            reply = await caller.call(services.reports.UpdateReport, pb.UpdateReportRequest(
                id=report_id, update_mask=["name", "visibility"] + (["definition"] if query else []), name=name,
                definition_json=definition, visibility=visibility))
        else:
            reply = await caller.call(services.reports.CreateReport, pb.CreateReportRequest(
                name=name, definition_json=definition, visibility=visibility))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(response, flash_message(N_("The report was not saved: %(reason)s"),
                                              reason=problem_text(exc, page_locale(request))))
        return response
    response = RedirectResponse(f"/app/reports/{reply.id}", status_code=303)
    cookies.flash(response, flash_message(N_("Report saved.")))
    return response


@router.post("/reports/{report_id}/clone")
async def report_clone(report_id: str, request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    response = RedirectResponse("/app/reports", status_code=303)
    if not csrf_ok(form, session):
        return response
    cookies: WebCookies = request.app.state.web_cookies
    caller = session_caller(request, session)
    template = str(form.get("template") or "")
    try:
        reply = await caller.call(services.reports.CloneReport, pb.CloneReportRequest(
            source_id="" if template else report_id, template=template, locale=page_locale(request)))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(response, flash_message(N_("The report was not copied: %(reason)s"),
                                              reason=problem_text(exc, page_locale(request))))
        return response
    response = RedirectResponse(f"/app/reports/{reply.id}", status_code=303)
    cookies.flash(response, flash_message(N_("Copied into your reports.")))
    return response


@router.post("/reports/{report_id}/delete")
async def report_delete(report_id: str, request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    response = RedirectResponse("/app/reports", status_code=303)
    if not csrf_ok(form, session):
        return response
    cookies: WebCookies = request.app.state.web_cookies
    caller = session_caller(request, session)
    try:
        await caller.call(services.reports.DeleteReport, pb.DeleteReportRequest(id=report_id))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(response, flash_message(N_("The report was not deleted: %(reason)s"),
                                              reason=problem_text(exc, page_locale(request))))
        return response
    cookies.flash(response, flash_message(N_("Report deleted.")))
    return response


# -- exports -------------------------------------------------------------------------------------


def _export_message(request: Request, session: Any, exc: UpstreamError | None = None) -> Response:
    """The export (or its report) is not there for this viewer: a 404 page saying why."""
    t = messages(page_locale(request))
    return render(request, "message.html", {
        "session": session, "title": t.gettext("Report export"),
        "message": problem_text(exc, page_locale(request)) if exc else t.gettext("This export does not exist."),
        "link": ("/app/reports", t.gettext("Reports"))}, status_code=404)


@router.post("/reports/{report_id}/exports")
async def report_export_start(report_id: str, request: Request, session: SessionDep,
                              services: BackendsDep) -> Response:
    """Start an export of the saved report (run again as the viewer, in the page's language)."""
    form = await request.form()
    back = RedirectResponse(f"/app/reports/{report_id}#report-export", status_code=303)
    if not csrf_ok(form, session):
        return back
    cookies: WebCookies = request.app.state.web_cookies
    caller = session_caller(request, session)
    locale = page_locale(request)
    export_format = str(form.get("format") or "")
    try:
        if export_format not in EXPORT_FORMATS:
            raise ValueError(export_format)
        saved = await caller.call(services.reports.GetReport, pb.GetReportRequest(id=report_id))
        view_id = str(json.loads(saved.definition_json).get("view_id") or "")
        export = await caller.call(services.report_exports.CreateReportExport, export_pb.CreateReportExportRequest(
            report_id=saved.id, format=export_format, locale=locale, time_zone=await tenant_time_zone(caller, services),
            view_filters=await saved_view_filters(caller, services, view_id)))
    except ValueError:
        cookies.flash(back, {**flash_message(N_("Choose CSV, Excel (XLSX) or PDF.")), "where": EXPORT_FLASH})
        return back
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(back, {**flash_message(N_("The export did not start: %(reason)s"),
                                             reason=problem_text(exc, locale)), "where": EXPORT_FLASH})
        return back
    return RedirectResponse(f"/app/reports/{report_id}/exports/{export.id}", status_code=303)


async def _own_export(caller: Any, services: Any, report_id: str, export_id: str) -> Any:
    export = await caller.call(services.report_exports.GetReportExport,
                               export_pb.GetReportExportRequest(id=export_id))
    if export.report_id != report_id:  # an export of another report: as absent as any other
        raise LookupError(export_id)
    return export


@router.get("/reports/{report_id}/exports/{export_id}")
async def report_export_page(report_id: str, export_id: str, request: Request, session: SessionDep,
                             services: BackendsDep) -> Response:
    """The export job's page: a progress bar refreshed every second until it finished, then the
    download (or the reason it failed)."""
    locale = page_locale(request)
    t = messages(locale)
    caller = session_caller(request, session)
    try:
        export = await _own_export(caller, services, report_id, export_id)
        saved = await caller.call(services.reports.GetReport, pb.GetReportRequest(id=report_id))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return _export_message(request, session, exc)
    except LookupError:
        return _export_message(request, session)
    running = export.status == "running"
    expires = timestamp(export.expires_at)
    context = {
        "session": session, "export": export, "report": saved, "finished": export.status in EXPORT_FINISHED,
        "format_label": t.text(EXPORT_FORMATS.get(export.format, N_("CSV"))),
        "rows_done": formatting.number(export.progress_done if running else export.rows_done, locale),
        "percent": 100 if export.status == "succeeded" else None,
        "expires": formatting.at(expires, locale) if expires else "",
        "size_kib": max(1, round(export.size_bytes / 1024)) if export.size_bytes else 0,
    }
    return render(request, "report_export.html", context)


@router.get("/reports/{report_id}/exports/{export_id}/file")
async def report_export_file(report_id: str, export_id: str, request: Request, session: SessionDep,
                             services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    try:
        await _own_export(caller, services, report_id, export_id)
        first = await caller.call(services.report_exports.ReadReportExportFile,
                                  export_pb.ReadReportExportFileRequest(id=export_id, part=0))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return _export_message(request, session, exc)
    except LookupError:
        return _export_message(request, session)
    headers = {"Content-Disposition": f"attachment; filename=\"{quote(first.file_name)}\"; "
                                      f"filename*=UTF-8''{quote(first.file_name)}",
               "Cache-Control": "no-store"}
    return StreamingResponse(export_parts(caller, services, export_id, first), media_type=first.content_type,
                             headers=headers)
