"""The customer list's saved views bar and customer exports in the web UI: save the current
filters as a view, pick one (`/app/customers?view=<id>`), delete it; start an export of the current
filters, watch its progress (the page refreshes every second while it runs) and download it.
Pages call the same gRPC services as the REST API, with the session's token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.api.customer_exports import _parts
from crm_gateway.api.customers import ADDED_FILTERS
from crm_gateway.clients import Caller
from crm_gateway.i18n import Locale, messages
from crm_gateway.problems import UpstreamError, localise_field_errors
from crm_gateway.web import formatting
from crm_gateway.web.auth import LoginRequired, session_caller, token_claims
from crm_gateway.web.common import SessionDep, csrf_ok, user_label
from crm_gateway.web.labels import export_words
from crm_gateway.web.session import WebSession
from crm_gateway.web.templating import message_page, page_locale, render
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import exports_pb2, views_pb2

router = APIRouter(prefix="/app", include_in_schema=False)

# ListCustomersRequest fields a saved filter may set (the rest are `cf.<key>` custom fields).
REQUEST_FIELDS: Final = frozenset({
    "q", "status", "owner_id", "industry", "region", "source", "type", "created_after", "created_before",
    "first_contact_after", "first_contact_before", *ADDED_FILTERS, "segment_id",
})
FINISHED: Final = frozenset({"succeeded", "failed", "expired"})
# The list's tag filter: repeated in the page's forms, one value (ids joined by commas) in a view.
TAG_FILTER: Final = "tag_id"
# Rows selected on the list (bulk actions): customer ids joined by commas.
IDS_FILTER: Final = "ids"
# The list page's "More filters" panel (docs/customers.md, "Web UI").
PANEL_FILTERS: Final = (
    "type", "region", "source", "created_after", "created_before", "first_contact_after", "first_contact_before",
    "acquired_after", "acquired_before", "updated_after", "updated_before", "mobile", "email", "code", "contact_person",
)
# Every filter the page's controls set besides tags: the bar's boxes, then the panel. The views,
# export and mass-change forms carry each as a hidden input.
FORM_FILTERS: Final = ("q", "industry", "owner_id", "status", *PANEL_FILTERS, "segment_id")


@dataclass
class ActiveView:
    id: str
    name: str
    filters: dict[str, str] = field(default_factory=dict)
    order_by: str = ""


def can_export(session: WebSession) -> bool:
    """Whether to offer "Export" (the service enforces `customers:export` itself)."""
    return "customers:export" in str(token_claims(session.token).get("scope", "")).split()


def can_import(session: WebSession) -> bool:
    """Whether to offer "Import" (the service enforces `customers:write` itself)."""
    return "customers:write" in str(token_claims(session.token).get("scope", "")).split()


def list_request(filters: dict[str, str], **fields: Any) -> pb.ListCustomersRequest:
    """A list request from a view's filters (query parameter names, `cf.<key>` included)."""
    request = pb.ListCustomersRequest(**fields)
    for name, value in filters.items():
        if name == TAG_FILTER:  # tag ids joined by commas
            request.tag_ids.extend(t for t in value.split(",") if t and t not in request.tag_ids)
        elif name == IDS_FILTER:  # selected rows: customer ids joined by commas
            request.ids.extend(i for i in value.split(",") if i and i not in request.ids)
        elif name in REQUEST_FIELDS:
            setattr(request, name, value)
        elif name.startswith("cf."):
            request.custom_fields[name[3:]] = value
    return request


async def list_views(caller: Caller, services: Any) -> list[Any]:
    """The user's views for the bar; the page works without them."""
    try:
        reply = await caller.call(services.customer_views.ListCustomerViews, views_pb2.ListCustomerViewsRequest())
    except UpstreamError:
        return []
    return list(reply.items)


async def load_view(caller: Caller, services: Any, view_id: str) -> ActiveView | None:
    if not view_id:
        return None
    try:
        view = await caller.call(services.customer_views.GetCustomerView, views_pb2.GetCustomerViewRequest(id=view_id))
    except UpstreamError:
        return None
    return ActiveView(view.id, view.name, dict(view.filters), view.order_by)


def _signed_out(request: Request, exc: UpstreamError) -> None:
    if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
        raise LoginRequired("/app/customers") from exc


async def current_filters(caller: Caller, services: Any, form: Any) -> tuple[dict[str, str], str]:
    """The list's filters as the page shows them: the active view's, with the page's filter
    controls and tags as chosen; and its sort."""
    view = await load_view(caller, services, str(form.get("view") or ""))
    filters = dict(view.filters) if view else {}
    for name in FORM_FILTERS:  # the page always sends what its controls show
        value = str(form.get(name) or "").strip()
        if value:
            filters[name] = value
        else:
            filters.pop(name, None)
    tags = ",".join(dict.fromkeys(str(v).strip() for v in form.getlist(TAG_FILTER) if str(v).strip()))
    if tags:
        filters[TAG_FILTER] = tags
    else:
        filters.pop(TAG_FILTER, None)
    # Rows selected on the list (its bulk actions): only those customers.
    ids = ",".join(dict.fromkeys(str(v).strip() for v in form.getlist(IDS_FILTER) if str(v).strip()))
    if ids:
        filters[IDS_FILTER] = ids
    return filters, str(form.get("order_by") or "") or (view.order_by if view else "")


def _message(request: Request, text: str, status_code: int) -> Response:
    locale = page_locale(request)
    return message_page(request, messages(locale).gettext("Customer list"), text, status_code=status_code,
                        link=("/app/customers", messages(locale).gettext("Back to customers")))


def _problem(exc: UpstreamError, locale: Locale) -> str:
    errors = localise_field_errors(exc.error.errors, locale)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or exc.error.message or exc.error.code
    return messages(locale).gettext("Something went wrong: %(detail)s", detail=detail)


# -- saved views -------------------------------------------------------------------------------


@router.post("/customer-views")
async def save_view(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not csrf_ok(form, session):
        return _message(request, messages(locale).gettext("The form expired; please submit it again."), 403)
    caller = session_caller(request, session)
    filters, order_by = await current_filters(caller, services, form)
    name = str(form.get("name") or "").strip()
    try:
        view = await caller.call(services.customer_views.CreateCustomerView, views_pb2.CreateCustomerViewRequest(
            view=views_pb2.CustomerViewInput(name=name, filters_set=True, filters=filters, order_by=order_by)))
    except UpstreamError as exc:
        _signed_out(request, exc)
        return _message(request, _problem(exc, locale), 400)
    return RedirectResponse(f"/app/customers?view={view.id}", status_code=303)


@router.post("/customer-views/{view_id}/delete")
async def delete_view(request: Request, view_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    if not csrf_ok(form, session):
        return _message(request, messages(page_locale(request)).gettext("The form expired; please submit it again."),
                        403)
    caller = session_caller(request, session)
    try:
        await caller.call(services.customer_views.DeleteCustomerView, views_pb2.DeleteCustomerViewRequest(id=view_id))
    except UpstreamError as exc:
        _signed_out(request, exc)
    return RedirectResponse("/app/customers", status_code=303)


# -- exports -------------------------------------------------------------------------------------


@router.post("/customer-exports")
async def start_export(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not csrf_ok(form, session):
        return _message(request, messages(locale).gettext("The form expired; please submit it again."), 403)
    caller = session_caller(request, session)
    filters, order_by = await current_filters(caller, services, form)
    export_format = "xlsx" if form.get("format") == "xlsx" else "csv"
    column_labels, value_labels = export_words(locale)
    try:
        export = await caller.call(
            services.customer_exports.CreateCustomerExport,
            exports_pb2.CreateCustomerExportRequest(filters=filters, order_by=order_by, format=export_format,
                                                    column_labels=column_labels, value_labels=value_labels),
        )
    except UpstreamError as exc:
        _signed_out(request, exc)
        return _message(request, _problem(exc, locale), 400)
    return RedirectResponse(f"/app/customer-exports/{export.id}", status_code=303)


@router.get("/customer-exports/{export_id}")
async def export_page(request: Request, export_id: str, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    try:
        export = await caller.call(services.customer_exports.GetCustomerExport,
                                   exports_pb2.GetCustomerExportRequest(id=export_id))
    except UpstreamError as exc:
        _signed_out(request, exc)
        return _message(request, _problem(exc, locale), 404)
    total = max(export.rows_total, export.rows_done)
    percent = 100 if export.status == "succeeded" else (int(export.rows_done * 100 / total) if total else 0)
    expires = timestamp(export.expires_at)
    context = {
        "session": session,
        "user_label": user_label(session, locale),
        "export": export,
        "finished": export.status in FINISHED,
        "percent": percent,
        "total": total,
        "filters": sorted(export.filters.items()),
        "expires": formatting.at(expires, locale),
        "size_kib": max(1, round(export.size_bytes / 1024)) if export.size_bytes else 0,
    }
    return render(request, "customer_export.html", context)


@router.get("/customer-exports/{export_id}/file")
async def export_file(request: Request, export_id: str, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    try:
        first = await caller.call(services.customer_exports.ReadCustomerExportFile,
                                  exports_pb2.ReadCustomerExportFileRequest(id=export_id, part=0))
    except UpstreamError as exc:
        _signed_out(request, exc)
        return _message(request, _problem(exc, caller.locale), 404)
    headers = {"Content-Disposition": f'attachment; filename="{first.file_name}"', "Cache-Control": "no-store"}
    return StreamingResponse(_parts(caller, services, export_id, first), media_type=first.content_type,
                             headers=headers)
