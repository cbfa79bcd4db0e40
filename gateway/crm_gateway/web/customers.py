"""/app/customers: the customer list (search, industry filter, cursor paging) and the create
form. Pages call the same gRPC services as the REST API, with the session's token."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.clients import Caller
from crm_gateway.i18n import Locale
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web.auth import LoginRequired, session_caller, web_session
from crm_gateway.web.customer_lists import can_export, list_request, list_views, load_view
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.strings import UI
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.reporting.v1 import reporting_pb2

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE_SIZE: Final = 20
INDUSTRIES_DEADLINE: Final = 1.0
FORM_FIELDS: Final = ("name", "type", "contact_person", "industry", "region", "source", "mobile", "phone", "email",
                      "resident_id", "bank_card")
CUSTOMER_TYPES: Final = ("enterprise", "individual")
SessionDep = Annotated[WebSession, Depends(web_session)]


@dataclass
class Listing:
    rows: list[dict[str, str]] = field(default_factory=list)
    next_page_token: str = ""
    error: str | None = None


@dataclass
class Filters:
    q: str = ""
    industry: str = ""
    page_token: str = ""
    # A saved view (web/customer_lists.py): its id, its other filters and its sort.
    view: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    order_by: str = ""
    view_name: str = ""

    def query(self, **changes: str) -> str:
        values = {"view": self.view, "q": self.q, "industry": self.industry, "page_token": self.page_token,
                  **changes}
        return urlencode({k: v for k, v in values.items() if v})


def _label(prefix: str, value: str, locale: Locale) -> str:
    return UI.get(f"{prefix}.{value}", locale) or value


@dataclass
class Choices:
    """Dictionary entries for the form's selects: (value, label) pairs."""

    industry: list[tuple[str, str]] = field(default_factory=list)
    region: list[tuple[str, str]] = field(default_factory=list)
    source: list[tuple[str, str]] = field(default_factory=list)


async def load_choices(caller: Caller, services: Any) -> Choices:
    """The tenant's dictionaries; a form without them still works (empty selects offer "none")."""

    async def entries(name: str) -> list[Any]:
        try:
            reply = await caller.call(services.customers.GetDictionary, pb.GetDictionaryRequest(name=name))
        except UpstreamError:
            return []
        return list(reply.entries)

    industry, region, source = await asyncio.gather(entries("industry"), entries("region"), entries("source"))
    return Choices(
        industry=[(e.label, e.label) for e in industry],
        region=[(e.path, e.path.replace("/", " › ")) for e in region],
        source=[(e.code, e.label) for e in source],
    )


def customer_row(message: Any, locale: Locale) -> dict[str, str]:
    created = timestamp(message.created_at)
    return {
        "id": message.id, "code": message.code, "name": message.name, "industry": message.industry,
        "region": message.region.replace("/", " › "),
        "mobile": message.mobile, "status": message.status, "status_label": _label("status", message.status, locale),
        "created": created.strftime("%Y-%m-%d %H:%M") if created else "",
    }


def customer_input(sent: dict[str, str]) -> Any:
    message = pb.CustomerInput()
    for name, value in sent.items():
        setattr(message, name, value)
    return message


def problem_text(exc: UpstreamError, locale: Locale) -> str:
    """One line for a failed call, shown in the page's banner."""
    status = exc.error.status
    if status == grpc.StatusCode.PERMISSION_DENIED:
        return UI.text("error.permission_denied", locale)
    if status in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return UI.text("error.unavailable", locale)
    details = localise_field_errors(exc.error.errors, locale)
    detail = "; ".join(e["message"] for e in details) or exc.error.message or exc.error.code
    return UI.text("error.generic", locale, detail=detail)


def _raise_if_signed_out(request: Request, exc: UpstreamError) -> None:
    # The token expired or was revoked since the session was made: sign in again.
    if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
        raise LoginRequired(request.url.path) from exc


async def load_listing(request: Request, caller: Caller, services: Any, filters: Filters) -> Listing:
    try:
        reply = await caller.call(services.customers.ListCustomers, list_request(
            filters.extra, page_size=PAGE_SIZE, page_token=filters.page_token, industry=filters.industry, q=filters.q,
            order_by=filters.order_by,
        ))
    except UpstreamError as exc:
        _raise_if_signed_out(request, exc)
        return Listing(error=problem_text(exc, caller.locale))
    return Listing([customer_row(c, caller.locale) for c in reply.items], reply.next_page_token)


async def load_industries(caller: Caller, services: Any) -> list[str]:
    """Suggestions for the industry filter, from the report; the page works without them."""
    try:
        reply = await caller.call(services.reporting.GetCustomersByIndustry,
                                  reporting_pb2.GetCustomersByIndustryRequest())
    except UpstreamError:
        return []
    return sorted({row.industry for row in reply.rows if row.industry})


async def customers_page(
    request: Request,
    session: WebSession,
    services: Any,
    filters: Filters,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    form_error: str | None = None,
) -> Response:
    caller = session_caller(request, session)
    # The suggestions are optional: they get a short deadline and never hold the page up long.
    short = replace(caller, deadline=min(caller.deadline, INDUSTRIES_DEADLINE))
    listing, industries, choices, views = await asyncio.gather(
        load_listing(request, caller, services, filters),
        load_industries(short, services),
        load_choices(short, services),
        list_views(short, services),
    )
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    locale = caller.locale
    context = {
        "session": session,
        "user_label": session.user_name or ", ".join(_label("role", r, locale) for r in session.roles),
        "listing": listing,
        "filters": filters,
        "next_query": filters.query(page_token=listing.next_page_token) if listing.next_page_token else None,
        "first_query": filters.query(page_token="") if filters.page_token else None,
        "industries": industries,
        "types": CUSTOMER_TYPES,
        "choices": choices,
        "values": values or {"type": "enterprise"},
        "field_errors": field_errors or {},
        "form_error": form_error,
        "flash": UI.text("create.created", locale, **flash) if flash else None,
        "views": views,
        "can_export": can_export(session),
    }
    response = render(request, "customers.html", context, status_code=status_code)
    cookies.clear_flash(request, response)
    return response


@router.get("/customers")
async def list_page(
    request: Request, session: SessionDep, services: BackendsDep, q: str = "", industry: str = "",
    page_token: str = "", view: str = "",
) -> Response:
    filters = Filters(q.strip(), industry.strip(), page_token)
    active = await load_view(session_caller(request, session), services, view)
    if active is not None:  # a saved view: its filters, the search box and industry as typed (or the view's)
        filters.view, filters.view_name, filters.order_by = active.id, active.name, active.order_by
        filters.extra = {k: v for k, v in active.filters.items() if k not in ("q", "industry")}
        for name in ("q", "industry"):
            if name not in request.query_params:
                setattr(filters, name, active.filters.get(name, ""))
    return await customers_page(request, session, services, filters)


@router.post("/customers")
async def create(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in FORM_FIELDS}
    locale = page_locale(request)
    token = str(form.get("csrf_token") or "")
    if not hmac.compare_digest(token.encode(), session.csrf.encode()):
        return await customers_page(request, session, services, Filters(), status_code=403, values=values,
                                    form_error=UI.text("create.form_expired", locale))
    # Empty inputs are "not given"; the service decides what is required.
    sent = {k: v for k, v in values.items() if v or k == "name"}
    caller = session_caller(request, session)
    try:
        created = await caller.call(services.customers.CreateCustomer,
                                    pb.CreateCustomerRequest(customer=customer_input(sent)))
    except UpstreamError as exc:
        _raise_if_signed_out(request, exc)
        errors = localise_field_errors(exc.error.errors, locale, lambda f: f.removeprefix("customer."))
        field_errors = {e["field"]: e["message"] for e in errors if e["field"] in FORM_FIELDS}
        unplaced = [e["message"] for e in errors if e["field"] not in FORM_FIELDS]
        form_error = UI.text("create.invalid", locale) if field_errors else problem_text(exc, locale)
        if unplaced:
            form_error = " ".join([form_error, *unplaced])
        bad_input = exc.error.status == grpc.StatusCode.INVALID_ARGUMENT
        status_code = 400 if bad_input else GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]
        return await customers_page(request, session, services, Filters(), status_code=status_code,
                                    values=values, field_errors=field_errors, form_error=form_error)
    response = RedirectResponse("/app/customers", status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, {"name": created.name, "code": created.code})
    return response
