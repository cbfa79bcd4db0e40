"""/app/customers/bulk-change: "Change owner / status for the N matching customers" for the list's
current filters, then /app/customer-bulk-changes/{id}: a progress bar that refreshes itself every
second (pages carry no script) and, when done, the summary with the customers that could not change."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any, Final

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.clients import Caller
from crm_gateway.i18n import Locale, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller, token_claims
from crm_gateway.web.common import SessionDep, label, problem_text, raise_if_signed_out
from crm_gateway.web.customer_lists import FORM_FILTERS, IDS_FILTER, list_request
from crm_gateway.web.owners import owner_choices
from crm_gateway.web.session import WebSession
from crm_gateway.web.tag_choices import tenant_tags
from crm_gateway.web.templating import message_page, page_locale, render
from crm_proto.crm.customers.v1 import bulk_changes_pb2 as bpb
from crm_proto.crm.customers.v1 import customers_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

FILTERS: Final = FORM_FILTERS
TAG_FILTER: Final = "tag_id"
# The list's selected rows (its bulk bar): customer ids joined by commas.
# The dialog posts the list's filters under this prefix: its own `status` and `owner_id` are the change.
FILTER_PREFIX: Final = "filter."
STATUSES: Final = ("potential", "intent", "won", "lost")
FINISHED: Final = frozenset({"succeeded", "cancelled"})
FAILURES_SHOWN: Final = 100


def _filters(source: Any, prefix: str = "") -> dict[str, str]:
    found = {name: value for name in FILTERS if (value := str(source.get(prefix + name) or "").strip())}
    # The list's tag filter, held as one value: tag ids joined by commas (as saved views hold it).
    tags = ",".join(str(v).strip() for v in source.getlist(prefix + TAG_FILTER) if str(v).strip())
    if tags:
        found[TAG_FILTER] = tags
    ids = ",".join(str(v).strip() for v in source.getlist(prefix + IDS_FILTER) if str(v).strip())
    if ids:
        found[IDS_FILTER] = ids
    return found


def _filter_labels(filters: dict[str, str], people: dict[str, str], tags: dict[str, str],
                   locale: Locale) -> dict[str, str]:
    """The filters as shown: an owner and tags by name, a status or type by its label."""
    shown = {k: people.get(v, v) if k == "owner_id" else label(k, v, locale) if k in ("status", "type") else v
             for k, v in filters.items()}
    if filters.get(TAG_FILTER):
        shown[TAG_FILTER] = formatting.value_list((tags.get(t, t[:8]) for t in filters[TAG_FILTER].split(",")), locale)
    if filters.get(IDS_FILTER):
        count = len(filters[IDS_FILTER].split(","))
        shown[IDS_FILTER] = messages(locale).ngettext("%(num)d selected customer", "%(num)d selected customers",
                                                      count)
    return shown


def filter_message(filters: dict[str, str]) -> pb.ListCustomersRequest:
    return list_request(filters)


def _context_base(session: WebSession, locale: Locale) -> dict[str, Any]:
    return {"session": session,
            "user_label": session.user_name or ", ".join(label("role", r, locale) for r in session.roles)}


async def form_page(request: Request, session: WebSession, services: Any, filters: dict[str, str], *,
                    status_code: int = 200, values: dict[str, str] | None = None,
                    field_errors: dict[str, str] | None = None, form_error: str | None = None) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    claims = token_claims(session.token)
    try:
        counted, people, tags = await asyncio.gather(
            caller.call(services.customer_bulk_changes.CountBulkChangeTargets,
                        bpb.CountBulkChangeTargetsRequest(filter=filter_message(filters))),
            owner_choices(caller, services),
            tenant_tags(caller, services),
        )
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return message_page(request, messages(locale).gettext("Mass change"), problem_text(exc, locale),
                            status_code=GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0],
                            link=("/app/customers", messages(locale).gettext("Back to customers")))
    me = str(claims.get("uid", ""))
    context = {
        **_context_base(session, locale),
        "filters": filters,
        "filter_labels": _filter_labels(filters, dict(people), {t.id: t.name for t in tags}, locale),
        "count": counted.count,
        "more": counted.more,
        "people": people,
        "me": me,
        "statuses": STATUSES,
        "values": values or {"change": "owner", "owner_id": me},
        "field_errors": field_errors or {},
        "form_error": form_error,
    }
    return render(request, "customer_bulk.html", context, status_code=status_code)


@router.get("/customers/bulk-change")
async def show_form(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await form_page(request, session, services, _filters(request.query_params))


@router.post("/customers/bulk-change")
async def start(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    filters = _filters(form, FILTER_PREFIX)
    values = {name: str(form.get(name) or "").strip() for name in ("change", "owner_id", "status", "reason")}
    if not hmac.compare_digest(str(form.get("csrf_token") or "").encode(), session.csrf.encode()):
        return await form_page(request, session, services, filters, status_code=403, values=values,
                               form_error=messages(locale).gettext("The form expired; please submit it again."))
    if values["change"] == "status":
        changes = bpb.BulkChangeSet(status=values["status"], reason=values["reason"])
    else:
        changes = bpb.BulkChangeSet(owner_id=values["owner_id"])
    caller = session_caller(request, session)
    try:
        started = await caller.call(services.customer_bulk_changes.StartBulkChange, bpb.StartBulkChangeRequest(
            filter=filter_message(filters), set=changes))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        errors = localise_field_errors(exc.error.errors, locale, lambda f: f.removeprefix("set."))
        field_errors = {e["field"]: e["message"] for e in errors}
        code = 400 if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT else GRPC_TO_HTTP.get(
            exc.error.status, INTERNAL)[0]
        return await form_page(request, session, services, filters, status_code=code, values=values,
                               field_errors=field_errors,
                               form_error=(messages(locale).gettext("Please correct the highlighted fields.")
                                           if field_errors else problem_text(exc, locale)))
    return RedirectResponse(f"/app/customer-bulk-changes/{started.id}", status_code=303)


async def _names(caller: Caller, services: Any, ids: list[str]) -> dict[str, str]:
    async def one(customer_id: str) -> tuple[str, str]:
        try:
            c = await caller.call(services.customers.GetCustomer, pb.GetCustomerRequest(id=customer_id))
        except UpstreamError:
            return customer_id, ""
        return customer_id, f"{c.name} · {c.code}"

    return dict(await asyncio.gather(*(one(i) for i in ids)))


@router.get("/customer-bulk-changes/{bulk_change_id}")
async def progress(request: Request, bulk_change_id: str, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    try:
        change = await caller.call(services.customer_bulk_changes.GetBulkChange, bpb.GetBulkChangeRequest(
            id=bulk_change_id, failures_page_size=FAILURES_SHOWN))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        if exc.error.status in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            return message_page(request, messages(locale).pgettext("progress", "Mass change"),
                                messages(locale).gettext("This mass change does not exist."),
                                status_code=404, link=("/app/customers", messages(locale).gettext("Back to customers")))
        return message_page(request, messages(locale).pgettext("progress", "Mass change"), problem_text(exc, locale),
                            status_code=GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0])
    finished = change.status in FINISHED
    total = change.total if change.HasField("total") else 0
    names = await _names(caller, services, [f.customer_id for f in change.failures]) if finished else {}
    claims = token_claims(session.token)
    people = dict(await owner_choices(caller, services))
    owner = change.set.owner_id
    owner_label = messages(locale).gettext("Myself") if owner and owner == claims.get("uid") else people.get(owner,
                                                                                                             owner)
    context = {
        **_context_base(session, locale),
        "change": change,
        "finished": finished,
        "total": total,
        "percent": 100 if finished else (int(change.processed * 100 / total) if total else 0),
        "summary": (messages(locale).gettext("Owner → %(owner)s",
                                             owner=owner_label) if owner else messages(locale).gettext(
            "Status → %(status)s (%(reason)s)", status=label("status", change.set.status, locale),
            reason=change.set.reason)),
        "filters": [(label("filter", k, locale), v) for k, v in _filter_labels(
            {**{name: getattr(change.filter, name) for name in FILTERS}, TAG_FILTER: ",".join(change.filter.tag_ids),
             IDS_FILTER: ",".join(change.filter.ids)},
            people, {t.id: t.name for t in await tenant_tags(caller, services)} if change.filter.tag_ids else {},
            locale,
        ).items() if v],
        "failures": [{"id": f.customer_id, "name": names.get(f.customer_id, ""),
                      "why": label("bulk.why", f.code, locale)} for f in change.failures],
    }
    return render(request, "customer_bulk_progress.html", context)


@router.post("/customer-bulk-changes/{bulk_change_id}/cancel")
async def cancel(request: Request, bulk_change_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    if hmac.compare_digest(str(form.get("csrf_token") or "").encode(), session.csrf.encode()):
        caller = session_caller(request, session)
        try:
            await caller.call(services.customer_bulk_changes.CancelBulkChange,
                              bpb.CancelBulkChangeRequest(id=bulk_change_id))
        except UpstreamError as exc:
            raise_if_signed_out(request, exc)
    return RedirectResponse(f"/app/customer-bulk-changes/{bulk_change_id}", status_code=303)
