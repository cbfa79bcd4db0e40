"""/app/customers/merge?ids=a,b,c: the customers side by side, choose the survivor and, per field,
whose value survives (differing fields highlighted, sensitive values masked); confirm -> the
survivor's page with a notice and Undo. /app/customers/merges: recent merges with their undo
deadline and Undo. Pages call MergeService with the session's token, like the REST API."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from google.protobuf import json_format
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, NC_, Locale, Msg, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller, token_claims
from crm_gateway.web.common import SessionDep, flash_message, flash_text, label, problem_text, raise_if_signed_out
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.templating import message_page, page_locale, render
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import merges_pb2 as mpb

router = APIRouter(prefix="/app", include_in_schema=False)

MAX_CUSTOMERS: Final = 10
# (field, its label) in the order the comparison shows them.
FIELDS: Final = (
    ("name", N_("Name")), ("type", N_("Type")), ("status", N_("Status")),
    ("contact_person", N_("Contact person")), ("mobile", N_("Mobile")), ("phone", N_("Phone (landline)")),
    ("email", N_("Email")), ("industry", N_("Industry")), ("region", N_("Region")),
    ("source", NC_("customer field", "Source")), ("first_contact_date", NC_("date", "First contact")),
    ("owner_id", N_("Owner")), ("employees", N_("Employees")), ("annual_revenue", N_("Annual revenue")),
    ("credit_code", N_("Unified social credit code")), ("resident_id", N_("Resident ID number")),
    ("bank_card", N_("Bank card number")), ("needs", N_("Needs")), ("notes", N_("Notes")),
)
CUSTOM_PREFIX: Final = "custom_fields."


@dataclass
class Row:
    """One field across the customers: shown values, the preselected customer, whether they differ."""

    name: str
    label: str
    cells: list[tuple[str, str]] = field(default_factory=list)  # (customer id, shown value)
    chosen: str = ""
    differs: bool = False
    writable: bool = True


def _shown(c: Any, name: str, locale: Locale) -> str:
    if name == "status":
        return label("status", c.status, locale)
    if name == "type":
        return label("type", c.type, locale)
    if name == "employees":
        return str(c.employees) if c.HasField("employees") else ""
    if name == "annual_revenue":
        return f"{c.annual_revenue} {c.annual_revenue_currency}" if c.annual_revenue else ""
    if name == "region":
        return str(c.region).replace("/", " › ")
    return str(getattr(c, name))


def _writable(session: WebSession, name: str) -> bool:
    policies = token_claims(session.token).get("fp")
    policies = policies if isinstance(policies, dict) else {}
    policy_name = f"cf.{name.removeprefix(CUSTOM_PREFIX)}" if name.startswith(CUSTOM_PREFIX) else name
    return policies.get(policy_name, "read_write") == "read_write"


def comparison_rows(session: WebSession, people: list[Any], labels: dict[str, str], locale: Locale) -> list[Row]:
    """Rows for every standard field and every custom field any of them holds. The preselected
    value is the first customer's (the suggested survivor) unless it is empty and another one has
    a value; fields the role may not change stay with the survivor."""
    rows: list[Row] = []
    custom = [json_format.MessageToDict(c.custom_fields) for c in people]
    keys = sorted({k for values in custom for k in values})
    specs: list[tuple[str, Msg | None]] = [*FIELDS, *((f"{CUSTOM_PREFIX}{k}", None) for k in keys)]
    for name, label_msg in specs:
        if name.startswith(CUSTOM_PREFIX):
            key = name.removeprefix(CUSTOM_PREFIX)
            label = labels.get(key, key)
            cells = [(c.id, _custom_text(values.get(key))) for c, values in zip(people, custom, strict=True)]
        else:
            label = messages(locale).text(label_msg) if label_msg else name
            cells = [(c.id, _shown(c, name, locale)) for c in people]
        shown = [v for _, v in cells]
        row = Row(name=name, label=label, cells=cells, differs=len(set(shown)) > 1,
                  writable=_writable(session, name))
        row.chosen = cells[0][0]
        if row.writable and not shown[0]:
            row.chosen = next((cid for cid, value in cells if value), cells[0][0])
        rows.append(row)
    return rows


def _custom_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _ids(raw: str) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in raw.split(",") if i.strip()))[:MAX_CUSTOMERS]


def _csrf_ok(form: Any, session: WebSession) -> bool:
    return hmac.compare_digest(str(form.get("csrf_token") or "").encode(), session.csrf.encode())


def _me(session: WebSession) -> str:
    """The signed-in user's id (the token's `uid`), to show their own merges as "you"."""
    return str(token_claims(session.token).get("uid") or "")


def _when(value: Any) -> str:
    # Digits in both languages: the viewer's zone is what matters (formatting.at).
    return formatting.at(timestamp(value), "en")


async def _compare_page(
    request: Request, session: WebSession, services: Any, ids: list[str], *, survivor: str = "",
    chosen: dict[str, str] | None = None, error: str | None = None, status_code: int = 200,
) -> Response:
    caller: Caller = session_caller(request, session)
    locale = caller.locale
    back = ("/app/customers", messages(locale).pgettext("back link", "All customers"))
    if len(ids) < 2:
        return message_page(request, messages(locale).gettext("Merge customers"),
                            messages(locale).gettext("Select at least two customers to merge."),
                            status_code=400, link=back)
    try:
        people = await asyncio.gather(*(
            caller.call(services.customers.GetCustomer, pb.GetCustomerRequest(id=i)) for i in ids
        ))
        definitions = await caller.call(services.customers.ListCustomerFields, pb.ListCustomerFieldsRequest())
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return message_page(request, messages(locale).gettext("Merge customers"), problem_text(exc, locale),
                            status_code=GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0], link=back)
    survivor = survivor if survivor in ids else ids[0]
    ordered = sorted(people, key=lambda c: c.id != survivor)
    rows = comparison_rows(session, list(ordered), {d.key: d.label for d in definitions.items}, locale)
    for row in rows:
        if chosen and chosen.get(row.name) in ids:
            row.chosen = chosen[row.name]
    context = {
        "session": session,
        "people": ordered,
        "survivor": survivor,
        "rows": rows,
        "ids": ",".join(ids),
        "error": error,
        "status_labels": {c.id: label("status", c.status, locale) for c in ordered},
    }
    return render(request, "customer_merge.html", context, status_code=status_code)


@router.get("/customers/merge")
async def compare(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """`?ids=a,b,c` (links from the duplicates list) or `?ids=a&ids=b` (checkboxes on the list);
    `survivor` picks the kept customer (its column comes first and its values are preselected)."""
    ids = _ids(",".join(request.query_params.getlist("ids")))
    return await _compare_page(request, session, services, ids, survivor=request.query_params.get("survivor", ""))


@router.post("/customers/merge")
async def merge(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    ids = _ids(str(form.get("ids") or ""))
    survivor = str(form.get("survivor") or "")
    chosen = {str(k)[2:]: str(v) for k, v in form.items() if str(k).startswith("v.")}
    if not _csrf_ok(form, session):
        return await _compare_page(request, session, services, ids, survivor=survivor, chosen=chosen,
                                   error=messages(locale).gettext("The form expired; please submit it again."),
                                   status_code=403)
    values = {name: donor for name, donor in chosen.items() if donor != survivor}
    caller = session_caller(request, session)
    try:
        reply = await caller.call(services.merges.MergeCustomers, mpb.MergeCustomersRequest(
            survivor_id=survivor, merged_ids=[i for i in ids if i != survivor], values=values))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        errors = localise_field_errors(exc.error.errors, locale)
        message = problem_text(exc, locale)
        if errors:
            message = " ".join([message, *(f"{e['field'].removeprefix('values.')}: {e['message']}" for e in errors)])
        return await _compare_page(request, session, services, ids, survivor=survivor, chosen=chosen, error=message,
                                   status_code=GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0])
    response = RedirectResponse(f"/app/customers/{reply.survivor_id}", status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(N_("Customers merged. You can undo this within 30 days.")))
    return response


# -- recent merges, undo -----------------------------------------------------------------------


def merge_view(m: Any, locale: Locale, me: str = "") -> dict[str, Any]:
    state = "undoable" if m.undoable else ("undone" if m.HasField("undone_at") else "expired")
    return {
        "id": m.id, "survivor_id": m.survivor_id, "survivor_name": m.survivor_name or m.survivor_id,
        "survivor_code": m.survivor_code, "count": len(m.merged_ids),
        "by": messages(locale).pgettext("merged by", "You") if me and m.merged_by == me else m.merged_by,
        "at": _when(m.merged_at), "deadline": _when(m.expires_at), "undone_at": _when(m.undone_at),
        "state": state, "state_label": label("merge.state", state, locale),
    }


async def survivor_merges(caller: Caller, services: Any, customer_id: str) -> list[dict[str, Any]]:
    """The merges into this customer that can still be undone (the detail page's notice)."""
    try:
        reply = await caller.call(services.merges.ListMerges,
                                  mpb.ListMergesRequest(survivor_id=customer_id, page_size=10))
    except UpstreamError:
        return []
    return [merge_view(m, caller.locale) for m in reply.items if m.undoable]


async def _merges_page(
    request: Request, session: WebSession, services: Any, *, error: str | None = None, force_id: str = "",
    status_code: int = 200, page_token: str = "",
) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    try:
        reply = await caller.call(services.merges.ListMerges, mpb.ListMergesRequest(page_size=50,
                                                                                 page_token=page_token))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return message_page(request, messages(locale).gettext("Merges"), problem_text(exc, locale),
                            status_code=GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0])
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    response = render(request, "customer_merges.html", {
        "session": session, "merges": [merge_view(m, locale, _me(session)) for m in reply.items],
        "next_page_token": reply.next_page_token, "error": error, "force_id": force_id,
        "flash": flash_text(flash, locale),
    }, status_code=status_code)
    cookies.clear_flash(request, response)
    return response


@router.get("/customers/merges")
async def merges(request: Request, session: SessionDep, services: BackendsDep, page_token: str = "") -> Response:
    return await _merges_page(request, session, services, page_token=page_token)


@router.post("/customers/merges/{merge_id}/undo")
async def undo(request: Request, merge_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(form, session):
        return await _merges_page(request, session, services,
                                  error=messages(locale).gettext("The form expired; please submit it again."),
                                  status_code=403)
    caller = session_caller(request, session)
    try:
        reply = await caller.call(services.merges.UndoMerge,
                                  mpb.UndoMergeRequest(id=merge_id, force=form.get("force") == "1"))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        force_id = merge_id if exc.error.code == "survivor_changed_since_merge" else ""
        return await _merges_page(request, session, services, error=problem_text(exc, locale), force_id=force_id,
                                  status_code=GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0])
    target = "/app/customers/merges" if form.get("back") == "list" else f"/app/customers/{reply.survivor_id}"
    response = RedirectResponse(target, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(N_("The merge was undone.")))
    return response
