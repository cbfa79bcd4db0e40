"""/app/customers: the customer list across the full width (filters, saved views, sortable columns,
a column chooser saved per user in a cookie, a total count, tags as chips, bulk actions on the
selected rows, cursor paging; cards on a phone) and /app/customers/new, the create form. Pages
call the same gRPC services as the REST API, with the session's token."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import grpc
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.api.customers import report_cell_ids
from crm_gateway.clients import Caller
from crm_gateway.dictionary_names import DictionaryNames
from crm_gateway.i18n import N_, Locale, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.settings import GatewaySettings
from crm_gateway.web import formatting, possible_duplicates
from crm_gateway.web.auth import session_caller, token_claims
from crm_gateway.web.common import (
    SessionDep,
    csrf_ok,
    flash_message,
    flash_text,
    label,
    problem_text,
    raise_if_signed_out,
)
from crm_gateway.web.customer_lists import (
    FORM_FILTERS,
    PANEL_FILTERS,
    can_export,
    can_import,
    list_request,
    list_views,
    load_view,
)
from crm_gateway.web.owners import owner_choices, with_current
from crm_gateway.web.session import WebCookies, WebSession, safe_next
from crm_gateway.web.tag_choices import TagChoice, color_stylesheet, tenant_tags
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import segments_pb2
from crm_proto.crm.reporting.v1 import reporting_pb2
from crm_proto.crm.tagging.v1 import tagging_pb2

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE_SIZE: Final = 20
INDUSTRIES_DEADLINE: Final = 1.0
FORM_FIELDS: Final = ("name", "type", "contact_person", "industry", "region", "source", "mobile", "phone", "email",
                      "resident_id", "bank_card", "owner_id")
CUSTOMER_TYPES: Final = ("enterprise", "individual")
STATUSES: Final = ("potential", "intent", "won", "lost")
# Filters the list's filter bar shows as boxes (a saved view's other filters are chips).
BOX_FILTERS: Final = ("q", "industry", "owner_id")
# Filters held in `Filters.chosen`: the bar's status and the "More filters" panel.
CHOSEN_FILTERS: Final = tuple(name for name in FORM_FILTERS if name not in BOX_FILTERS)
# The tag picker's parameter (repeated, or ids joined by commas as a saved view holds them).
TAG_FILTER: Final = "tag_id"
NEW_PAGE: Final = "/app/customers/new"

# -- columns -------------------------------------------------------------------------------------
# Columns the chooser offers, in table order (name and the row's checkbox are always shown); their
# headings are the "column" labels of web/labels.py.
COLUMNS: Final = ("code", "industry", "region", "source", "contact_person", "mobile", "email", "status", "owner",
                  "tags", "created", "updated")
DEFAULT_COLUMNS: Final = ("code", "industry", "region", "mobile", "status", "owner", "tags", "created")
COLUMNS_COOKIE: Final = "crm_list_columns"
# Column -> the list's sort key (customers service ORDERINGS; page tokens follow the sort).
SORT_KEYS: Final = {"name": "name", "code": "code", "status": "status", "industry": "industry",
                    "region": "region", "created": "created_at", "updated": "updated_at"}
DEFAULT_ORDER: Final = "created_at desc"


def chosen_columns(request: Request) -> tuple[str, ...]:
    """The viewer's columns (cookie set by the chooser), else the default ones."""
    raw = request.cookies.get(COLUMNS_COOKIE)
    if raw is None:
        return DEFAULT_COLUMNS
    picked = {c for c in raw.split(",") if c in COLUMNS}
    return tuple(c for c in COLUMNS if c in picked)


def sort_links(order_by: str, filters: Filters) -> dict[str, dict[str, str]]:
    """Per sortable column: its link (the other direction when it is the current sort), and the
    current direction for aria-sort ("ascending" / "descending" / "none")."""
    current, _, direction = (order_by or DEFAULT_ORDER).partition(" ")
    direction = direction or "asc"
    links = {}
    for column, key in SORT_KEYS.items():
        if key == current:
            flipped = "asc" if direction == "desc" else "desc"
            state = "ascending" if direction == "asc" else "descending"
        else:
            flipped, state = ("desc" if key in ("created_at", "updated_at") else "asc"), "none"
        links[column] = {"query": filters.query(order_by=f"{key} {flipped}", page_token=""), "state": state}
    return links


@dataclass
class Listing:
    rows: list[dict[str, Any]] = field(default_factory=list)
    next_page_token: str = ""
    error: str | None = None
    # Matches over every page, exact up to the service's cap; `capped`: more than `total`.
    total: int | None = None
    capped: bool = False
    # A bad filter value: parameter -> message, shown next to its control.
    field_errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Filters:
    q: str = ""
    industry: str = ""
    page_token: str = ""
    owner_id: str = ""
    # A saved view (web/customer_lists.py): its id, its other filters and its sort.
    view: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    order_by: str = ""
    view_name: str = ""
    # The tag filter (web/customer_tags.py): the customer carries every one.
    tag_ids: list[str] = field(default_factory=list)
    # Status and the "More filters" panel (CHOSEN_FILTERS) that are set.
    chosen: dict[str, str] = field(default_factory=dict)
    # The sort the viewer picked by a column heading (over the view's `order_by`).
    sort: str = ""
    # A report cell's customers (a report's click-through, docs/reporting.md "Click-throughs").
    report: str = ""
    report_cell: str = ""

    @property
    def order(self) -> str:
        return self.sort or self.order_by

    def query(self, **changes: str | list[str]) -> str:
        values = {"view": self.view, "q": self.q, "industry": self.industry, "owner_id": self.owner_id,
                  **self.chosen, "tag_id": self.tag_ids, "order_by": self.sort, "page_token": self.page_token,
                  "report": self.report, "report_cell": self.report_cell, **changes}
        return urlencode({k: v for k, v in values.items() if v}, doseq=True)

    def form_values(self) -> list[tuple[str, str]]:
        """Every filter control's value (empty ones too: the forms say what the page shows)."""
        return [(name, str(getattr(self, name) if name in BOX_FILTERS else self.chosen.get(name, "")))
                for name in FORM_FILTERS]

    @staticmethod
    def panel_open(errors: dict[str, str]) -> bool:
        """The panel opens by itself only to show a bad value (active values show as chips)."""
        return any(name in errors for name in PANEL_FILTERS)


def split_tag_ids(values: list[str]) -> list[str]:
    """Tag ids from repeated parameters, each possibly several joined by commas; order kept, once each."""
    ids = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return list(dict.fromkeys(ids))


def active_tags(filters: Filters, tags: list[TagChoice]) -> list[dict[str, str]]:
    """The chips of the tag filter: each tag by name (an id the tenant does not know, by itself),
    with the query that drops it."""
    by_id = {t.id: t for t in tags}
    chips = []
    for tag_id in filters.tag_ids:
        tag = by_id.get(tag_id)
        rest = [t for t in filters.tag_ids if t != tag_id]
        chips.append({"id": tag_id, "name": tag.name if tag else tag_id[:8], "color_key": tag.color_key if tag else "",
                      "drop_query": filters.query(tag_id=rest, page_token="")})
    return chips



def active_filters(filters: Filters, choices: Choices, locale: Locale) -> list[dict[str, str]]:
    """Chips for the status and "More filters" values: the filter's name, its value as the
    controls show it, and the query without it."""
    labels = {"region": dict(choices.region), "source": dict(choices.source)}
    chips = []
    for name in CHOSEN_FILTERS:
        value = filters.chosen.get(name, "")
        if not value:
            continue
        shown = label(name, value, locale) if name in ("status", "type") else labels.get(name, {}).get(value, value)
        # Under a view an empty parameter says "not this filter" (absent means "the view's").
        dropped = filters.query(**{name: "", "page_token": ""}) + (f"&{name}=" if filters.view else "")
        chips.append({"name": name, "label": label("filter", name, locale), "value": shown,
                      "drop_query": dropped})
    if filters.report and filters.report_cell:  # a report's click-through
        chips.append({"name": "report_cell", "label": messages(locale).gettext("Report"),
                      "value": messages(locale).gettext("the cell's customers"),
                      "drop_query": filters.query(report="", report_cell="", page_token="")})
    return chips


async def segment_chip(caller: Caller, services: Any, chips: list[dict[str, str]]) -> list[dict[str, str]]:
    """The segment filter's chip shows the segment's name (the list opened from /app/tags/segments)."""
    for chip in chips:
        if chip["name"] == "segment_id":
            try:
                found = await caller.call(services.segments.GetSegment,
                                          segments_pb2.GetSegmentRequest(id=chip["value"]))
                chip["value"] = found.name
            except UpstreamError:
                chip["value"] = chip["value"][:8]
    return chips


@dataclass
class Choices:
    """Dictionary entries for the form's selects: (value, label) pairs."""

    industry: list[tuple[str, str]] = field(default_factory=list)
    region: list[tuple[str, str]] = field(default_factory=list)
    source: list[tuple[str, str]] = field(default_factory=list)
    # Customers' values as names in the page's language (dictionary_names.py).
    names: DictionaryNames = field(default_factory=lambda: DictionaryNames("en"))


async def load_choices(caller: Caller, services: Any) -> Choices:
    """The tenant's dictionaries; a form without them still works (empty selects offer "none")."""

    async def entries(name: str) -> list[Any]:
        try:
            reply = await caller.call(services.customers.GetDictionary, pb.GetDictionaryRequest(name=name))
        except UpstreamError:
            return []
        return list(reply.entries)

    industry, region, source = await asyncio.gather(entries("industry"), entries("region"), entries("source"))
    names = DictionaryNames.of(caller.locale, industry, region, source)
    return Choices(
        industry=[(e.label, names.industry_name(e.label)) for e in industry],
        region=[(e.path, names.region_name(e.path)) for e in region],
        source=[(e.code, names.source_name(e.code)) for e in source],
        names=names,
    )


def customer_row(message: Any, locale: Locale, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": message.id, "code": message.code, "name": message.name, "industry": message.industry,
        "region": message.region.replace("/", " › "), "region_path": message.region, "source": message.source,
        "contact_person": message.contact_person, "email": message.email,
        "mobile": message.mobile, "status": message.status, "status_label": label("status", message.status, locale),
        "owner_id": message.owner_id, "owner": message.owner_name or message.owner_id[:8],
        "created": formatting.local_time(message.created_at, zone, locale),
        "updated": formatting.local_time(message.updated_at, zone, locale),
        "tag_ids": list(message.tag_ids),
    }


def customer_input(sent: dict[str, str]) -> Any:
    message = pb.CustomerInput()
    for name, value in sent.items():
        setattr(message, name, value)
    return message




async def load_listing(request: Request, caller: Caller, services: Any, filters: Filters) -> Listing:
    try:
        cell_ids = (await report_cell_ids(caller, services, filters.report, filters.report_cell)
                    if filters.report and filters.report_cell else None)
        reply, zone = await asyncio.gather(
            caller.call(services.customers.ListCustomers, list_request(
                {**filters.extra, **filters.chosen}, page_size=PAGE_SIZE, page_token=filters.page_token,
                industry=filters.industry, include_total=True,
                q=filters.q, owner_id=filters.owner_id, order_by=filters.order, tag_ids=filters.tag_ids,
                report_cell_ids=cell_ids or [], report_cell_set=cell_ids is not None,
            )),
            formatting.page_zone(caller, services, request),
        )
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        shown = {e["field"]: e["message"] for e in localise_field_errors(exc.error.errors, caller.locale)
                 if e["field"] in FORM_FILTERS}
        return Listing(error=problem_text(exc, caller.locale), field_errors=shown)
    return Listing([customer_row(c, caller.locale, zone) for c in reply.items], reply.next_page_token,
                   total=reply.total_size, capped=reply.total_size_capped)


async def load_industries(caller: Caller, services: Any) -> list[str]:
    """Suggestions for the industry filter, from the report; the page works without them."""
    try:
        reply = await caller.call(services.reporting.GetCustomersByIndustry,
                                  reporting_pb2.GetCustomersByIndustryRequest())
    except UpstreamError:
        return []
    return sorted({row.industry for row in reply.rows if row.industry})


async def customers_page(request: Request, session: WebSession, services: Any, filters: Filters) -> Response:
    caller = session_caller(request, session)
    # The suggestions are optional: they get a short deadline and never hold the page up long.
    short = replace(caller, deadline=min(caller.deadline, INDUSTRIES_DEADLINE))
    listing, industries, choices, views, owners, tags = await asyncio.gather(
        load_listing(request, caller, services, filters),
        load_industries(short, services),
        load_choices(short, services),
        list_views(short, services),
        owner_choices(short, services),
        tenant_tags(short, services),
    )
    me = str(token_claims(session.token).get("uid", ""))
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    locale = caller.locale
    by_id = {t.id: t for t in tags}
    names = choices.names
    for row in listing.rows:  # tags as chips, by name; one the viewer cannot see is left out
        row["tags"] = [by_id[t] for t in row["tag_ids"] if t in by_id]
        # Dictionary values by their names in the page's language.
        row["industry"], row["source"] = names.industry_name(row["industry"]), names.source_name(row["source"])
        row["region"] = names.region_name(row["region_path"])
    columns = chosen_columns(request)
    context = {
        "session": session,
        "listing": listing,
        "filters": filters,
        "next_query": filters.query(page_token=listing.next_page_token) if listing.next_page_token else None,
        "first_query": filters.query(page_token="") if filters.page_token else None,
        "industries": industries,
        "types": CUSTOMER_TYPES,
        "choices": choices,
        "owners": owners,
        "me": me,
        "flash": flash_text(flash, locale),
        "views": views,
        "can_export": can_export(session),
        "can_import": can_import(session),
        "tags": tags,
        "active_tags": active_tags(filters, tags),
        "active_filters": await segment_chip(caller, services, active_filters(filters, choices, locale)),
        "statuses": STATUSES,
        "tag_stylesheet": color_stylesheet(t.color for t in tags),
        "columns": columns,
        "all_columns": COLUMNS,
        "sort": sort_links(filters.order, filters),
        "total_text": total_text(listing, locale),
    }
    response = render(request, "customers.html", context)
    cookies.clear_flash(request, response)
    return response


def total_text(listing: Listing, locale: Locale) -> str:
    """"1,234 customers", or "10,000+ customers" past the count's cap."""
    if listing.total is None or listing.error:
        return ""
    t = messages(locale)
    if listing.capped:
        return t.gettext("%(count)s+ customers", count=formatting.number(listing.total, locale))
    return t.ngettext("%(count)s customer", "%(count)s customers", listing.total,
                      count=formatting.number(listing.total, locale))


@router.get("/customers")
async def list_page(
    request: Request, session: SessionDep, services: BackendsDep, q: str = "", industry: str = "",
    page_token: str = "", view: str = "", owner_id: str = "", order_by: str = "",
    tag_id: Annotated[list[str] | None, Query()] = None, report: str = "", report_cell: str = "",
) -> Response:
    filters = Filters(q.strip(), industry.strip(), page_token, owner_id.strip(), tag_ids=split_tag_ids(tag_id or []))
    filters.chosen = {name: value for name in CHOSEN_FILTERS if (value := request.query_params.get(name, "").strip())}
    filters.sort = order_by.strip() if order_by.strip().split(" ")[0] in SORT_KEYS.values() else ""
    filters.report, filters.report_cell = report.strip(), report_cell.strip()
    active = await load_view(session_caller(request, session), services, view)
    if active is not None:  # a saved view: its filters, the page's controls as chosen (or the view's)
        filters.view, filters.view_name, filters.order_by = active.id, active.name, active.order_by
        filters.extra = {k: v for k, v in active.filters.items() if k not in (*FORM_FILTERS, TAG_FILTER)}
        for name in BOX_FILTERS:
            if name not in request.query_params:
                setattr(filters, name, active.filters.get(name, ""))
        for name in CHOSEN_FILTERS:
            if name not in request.query_params and active.filters.get(name):
                filters.chosen[name] = active.filters[name]
        if TAG_FILTER not in request.query_params:
            filters.tag_ids = split_tag_ids([active.filters.get(TAG_FILTER, "")])
    return await customers_page(request, session, services, filters)


# -- columns ---------------------------------------------------------------------------------------


@router.post("/customers/columns")
async def choose_columns(request: Request, session: SessionDep) -> Response:
    """The column chooser: the checked columns, kept for this user (browser) in a cookie."""
    form = await request.form()
    back = safe_next(str(form.get("next") or ""), "/app/customers")
    response = RedirectResponse(back, status_code=303)
    if not csrf_ok(form, session):
        return response
    picked = [c for c in COLUMNS if c in {str(v) for v in form.getlist("column")}]
    settings: GatewaySettings = request.app.state.settings
    response.set_cookie(COLUMNS_COOKIE, ",".join(picked), max_age=365 * 24 * 3600, path="/app/customers",
                        httponly=True, samesite="lax", secure=settings.secure_cookies)
    return response


# -- bulk actions on the selected rows ---------------------------------------------------------------


def _selected(form: Any) -> list[str]:
    return list(dict.fromkeys(str(v).strip() for v in form.getlist("ids") if str(v).strip()))


@router.post("/customers/selected")
async def bulk_action(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """The list's bulk bar: merge, change owner / status (the mass-change page for exactly these
    rows), add or remove a tag (here, for each selected customer the viewer may see). Export posts
    straight to /app/customer-exports with the same ids."""
    form = await request.form()
    back = safe_next(str(form.get("next") or ""), "/app/customers")
    cookies: WebCookies = request.app.state.web_cookies
    ids = _selected(form)
    action = str(form.get("action") or "")
    response = RedirectResponse(back, status_code=303)
    if not csrf_ok(form, session):
        cookies.flash(response, flash_message(N_("The form expired; please submit it again.")))
        return response
    if not ids:
        cookies.flash(response, flash_message(N_("Select one or more customers first.")))
        return response
    joined = ",".join(ids)
    if action == "merge":
        return RedirectResponse(f"/app/customers/merge?{urlencode({'ids': joined})}", status_code=303)
    if action == "change":
        return RedirectResponse(f"/app/customers/bulk-change?{urlencode({'ids': joined})}", status_code=303)
    if action in ("tag_add", "tag_remove"):
        tag_id = str(form.get("tag_id") or "")
        if not tag_id:
            cookies.flash(response, flash_message(N_("Choose a tag first.")))
            return response
        changed = await change_tags(request, session, services, ids, tag_id, add=action == "tag_add")
        done = (N_("Tag added to %(count)s customer(s).") if action == "tag_add"
                else N_("Tag removed from %(count)s customer(s)."))
        cookies.flash(response, flash_message(done, count=changed))
        return response
    return response


async def change_tags(request: Request, session: WebSession, services: Any, ids: list[str], tag_id: str, *,
                      add: bool) -> int:
    """Puts the tag on (or takes it off) every selected customer the viewer can see (one list call
    says which: data scope applies as for one customer); how many changed."""
    caller = session_caller(request, session)
    try:
        visible = await caller.call(services.customers.ListCustomers,
                                    pb.ListCustomersRequest(ids=ids, page_size=len(ids)))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return 0

    async def one(customer_id: str) -> bool:
        try:
            if add:
                await caller.call(services.tagging.ApplyCustomerTag,
                                  tagging_pb2.ApplyCustomerTagRequest(customer_id=customer_id, tag_id=tag_id))
            else:
                await caller.call(services.tagging.RemoveCustomerTag,
                                  tagging_pb2.RemoveCustomerTagRequest(customer_id=customer_id, tag_id=tag_id))
        except UpstreamError as exc:
            raise_if_signed_out(request, exc)
            return False
        return True

    results = await asyncio.gather(*(one(c.id) for c in visible.items))
    return sum(results)


# -- create ------------------------------------------------------------------------------------------


async def new_customer_page(
    request: Request, session: WebSession, services: Any, *, status_code: int = 200,
    values: dict[str, str] | None = None, field_errors: dict[str, str] | None = None,
    form_error: str | None = None, blocked: list[dict[str, Any]] | None = None,
) -> Response:
    caller = session_caller(request, session)
    short = replace(caller, deadline=min(caller.deadline, INDUSTRIES_DEADLINE))
    choices, owners = await asyncio.gather(load_choices(short, services), owner_choices(short, services))
    me = str(token_claims(session.token).get("uid", ""))
    context = {
        "session": session,
        "types": CUSTOMER_TYPES,
        "choices": choices,
        "values": values or {"type": "enterprise", "owner_id": me},
        # The choices always hold the viewer (the default owner), even before the customers service
        # has heard of them.
        "form_owners": with_current(owners, me, session.user_name) if owners else [],
        "me": me,
        "field_errors": field_errors or {},
        "form_error": form_error,
        # The likely duplicates a "block" policy refused the create for (web/possible_duplicates.py).
        "dups": blocked or [],
        "dup_override": "create-form" if blocked and possible_duplicates.can_override(session) else "",
    }
    return render(request, "customer_new.html", context, status_code=status_code)


@router.get("/customers/new")
async def new_customer(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await new_customer_page(request, session, services)


@router.post("/customers")
async def create(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in FORM_FIELDS}
    locale = page_locale(request)
    if not csrf_ok(form, session):
        return await new_customer_page(request, session, services, status_code=403, values=values,
                                       form_error=messages(locale).gettext(
                                           "The form expired; please submit it again."))
    # Empty inputs are "not given"; the service decides what is required.
    sent = {k: v for k, v in values.items() if v or k == "name"}
    caller = session_caller(request, session)
    try:
        created = await caller.call(services.customers.CreateCustomer, pb.CreateCustomerRequest(
            customer=customer_input(sent), allow_duplicates=form.get("allow_duplicates") == "1"))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        errors = localise_field_errors(exc.error.errors, locale, lambda f: f.removeprefix("customer."))
        field_errors = {e["field"]: e["message"] for e in errors if e["field"] in FORM_FIELDS}
        unplaced = [e["message"] for e in errors if e["field"] not in FORM_FIELDS]
        form_error = (messages(locale).gettext("Please correct the highlighted fields.") if field_errors
                      else problem_text(exc, locale))
        if unplaced:
            form_error = " ".join([form_error, *unplaced])
        blocked = possible_duplicates.blocked(exc, "", locale)
        if blocked:
            form_error = messages(locale).gettext(
                "Not saved: this looks like a customer you already have, and your company does not save likely "
                "duplicates.")
        bad_input = exc.error.status == grpc.StatusCode.INVALID_ARGUMENT
        status_code = 400 if bad_input else GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]
        return await new_customer_page(request, session, services, status_code=status_code,
                                       values=values, field_errors=field_errors, form_error=form_error,
                                       blocked=blocked)
    created_message = flash_message(N_("Customer %(name)s (%(code)s) created."), name=created.name, code=created.code)
    cookies: WebCookies = request.app.state.web_cookies
    if created.possible_duplicates:  # the saved customer's page names them, with links
        response = RedirectResponse(f"/app/customers/{created.id}", status_code=303)
        cookies.flash(response, {**created_message, possible_duplicates.FLASH_KEY: True})
        return response
    response = RedirectResponse("/app/customers", status_code=303)
    cookies.flash(response, created_message)
    return response
