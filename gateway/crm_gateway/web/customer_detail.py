"""/app/customers/{id}: every field of one customer, its status history, the change-status form
(with a reason) and the edit form (inline errors; a stale version shows who-changed-it message)."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any, Final

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from google.protobuf import json_format
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.api.customers import client_metadata, reveal
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Msg, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web import feedback, followups, formatting, possible_duplicates, timeline
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
from crm_gateway.web.customer_erasure import can_erase
from crm_gateway.web.customer_merge import survivor_merges
from crm_gateway.web.customer_orders import orders_section
from crm_gateway.web.customer_tags import tags_section
from crm_gateway.web.customers import CUSTOMER_TYPES, customer_input, load_choices
from crm_gateway.web.owners import owner_choices, with_current
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.templating import message_page, page_locale, render
from crm_gateway.web.value import value_row
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.followups.v1 import followups_pb2 as followups_pb
from crm_proto.crm.reporting.v1 import reporting_pb2

router = APIRouter(prefix="/app", include_in_schema=False)

EDIT_FIELDS: Final = (
    "name", "type", "contact_person", "mobile", "phone", "email", "industry", "region", "source",
    "first_contact_date", "employees", "annual_revenue", "annual_revenue_currency", "credit_code", "needs", "notes",
    "owner_id",
)
STATUSES: Final = ("potential", "intent", "won", "lost")
# Sent only when typed in (the page never holds their plaintext); REST PATCH with null clears them.
SENSITIVE_FIELDS: Final = ("resident_id", "bank_card")


def _values(c: Any) -> dict[str, str]:
    values = {name: str(getattr(c, name)) for name in EDIT_FIELDS if name != "employees"}
    values["employees"] = str(c.employees) if c.HasField("employees") else ""
    return values


def writable_fields(session: WebSession) -> frozenset[str]:
    """Edit-form fields the session's field policies (token claim `fp`; absent = read_write) let
    it change. Others are shown disabled and never sent; the customers service enforces the
    policies itself, this only keeps the form from offering what would be refused."""
    policies = token_claims(session.token).get("fp")
    policies = policies if isinstance(policies, dict) else {}
    return frozenset(name for name in (*EDIT_FIELDS, *SENSITIVE_FIELDS)
                     if policies.get(name, "read_write") == "read_write")


def can_reveal(session: WebSession) -> bool:
    """Whether to offer the Reveal button; the customers service enforces the scope itself."""
    scopes = str(token_claims(session.token).get("scope", "")).split()
    return "customers:reveal" in scopes


async def value_card(caller: Caller, services: Any, customer_id: str) -> dict[str, Any] | None:
    """The customer's value figures from reporting (its data scope and field policies: none when the
    role may not see spend, or without counted orders; the page never fails because of them)."""
    try:
        found = await caller.call(services.reporting.GetCustomerValue,
                                  reporting_pb2.GetCustomerValueRequest(customer_id=customer_id))
    except UpstreamError:
        return None
    if not found.found or found.hidden:
        return None
    return value_row(found.value, caller.locale)


async def detail_page(
    request: Request,
    session: WebSession,
    services: Any,
    customer_id: str,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_error: str | None = None,
    revealed: dict[str, str] | None = None,
    blocked: list[dict[str, Any]] | None = None,
    followup_values: dict[str, str] | None = None,
    followup_errors: dict[str, str] | None = None,
) -> Response:
    caller: Caller = session_caller(request, session)
    locale = caller.locale
    try:
        customer, history = await asyncio.gather(
            caller.call(services.customers.GetCustomer, pb.GetCustomerRequest(id=customer_id)),
            caller.call(services.customers.ListStatusHistory, pb.ListStatusHistoryRequest(id=customer_id)),
        )
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        if exc.error.code == "customer_merged":  # say where it went (crm_customers/merge)
            return message_page(request, messages(locale).gettext("Customer merged"),
                                messages(locale).gettext("This customer was merged into another customer. Its history, "
                                                         "tags and follow-ups are there now."), status_code=404,
                                link=(f"/app/customers/{exc.error.extra.get('merged_into', '')}",
                                      messages(locale).gettext("Open the kept customer")))
        if exc.error.status == grpc.StatusCode.NOT_FOUND:
            return message_page(request, messages(locale).gettext("Customer not found"),
                                messages(locale).gettext("This customer does not exist or was deleted."),
                                status_code=404,
                                link=("/app/customers", messages(locale).pgettext("back link", "All customers")))
        return message_page(request, messages(locale).pgettext("page title", "Customer"), problem_text(exc, locale),
                            status_code=GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0])
    choices = await load_choices(caller, services)
    merges = await survivor_merges(caller, services, customer_id)
    orders = await orders_section(caller, services, session, customer)
    claims = token_claims(session.token)
    me = str(claims.get("uid", ""))
    owners = await owner_choices(caller, services)
    tags = await tags_section(caller, services, session, customer.id)
    followup_section = await followups.customer_section(caller, services, session, request, customer.id)
    feedback_section = await feedback.customer_section(caller, services, session, request, customer.id)
    value = await value_card(caller, services, customer.id)
    activity = await timeline.load(caller, services, request, customer.id,
                                   timeline.shown_count(request.query_params.get("timeline")), me)
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    # After a save the check reported duplicates for: name them, freshly, with links.
    dups = blocked or (await possible_duplicates.load(caller, services, customer.id, locale)
                       if flash and flash.get(possible_duplicates.FLASH_KEY) else [])
    custom = json_format.MessageToDict(customer.custom_fields)
    context = {
        "session": session,
        "user_label": session.user_name or ", ".join(label("role", r, locale) for r in session.roles),
        "c": customer,
        "status_label": label("status", customer.status, locale),
        "type_label": label("type", customer.type, locale),
        "source_label": choices.names.source_name(customer.source),
        # Custom fields by their labels, not their keys.
        "field_labels": await custom_field_labels(caller, services),
        "custom": sorted(custom.items()),
        "created": formatting.local_time(customer.created_at, activity.zone, locale),
        "updated": formatting.local_time(customer.updated_at, activity.zone, locale),
        "history": [
            {"from": label("status", h.from_status, locale) if h.from_status else "",
             "to": label("status", h.to_status, locale), "to_status": h.to_status, "reason": h.reason,
             "by": h.changed_by_name or h.changed_by, "at": formatting.local_time(h.changed_at, activity.zone, locale)}
            for h in history.items
        ],
        "statuses": [s for s in STATUSES if s != customer.status],
        "types": CUSTOMER_TYPES,
        "choices": choices,
        "values": values or _values(customer),
        "field_errors": field_errors or {},
        "form_error": form_error,
        "status_error": status_error,
        "flash": flash_text(flash, locale),
        "can_reveal": can_reveal(session),
        "can_erase": can_erase(session),
        "writable": writable_fields(session),
        "revealed": revealed or {},
        "dups": dups,
        "dups_blocked": bool(blocked),
        "dup_merge_all": "" if blocked else possible_duplicates.merge_all_url(dups, customer.id),
        "dup_override": "edit-form" if blocked and possible_duplicates.can_override(session) else "",
        "merges": merges,
        "orders": orders,
        "timeline": activity,
        "tags": tags,
        "fu": followup_section,
        "fb": feedback_section,
        "fu_values": followup_values or {},
        "fu_errors": followup_errors or {},
        "request_task": request.query_params.get("task", ""),
        "value": value,
        "owner_label": customer.owner_name or (customer.owner_id[:8] + "…" if customer.owner_id else ""),
        # Only users the viewer may assign, plus the current owner (even if disabled) so saving keeps them.
        "owners": with_current(owners, customer.owner_id, customer.owner_name),
        "me": me,
    }
    response = render(request, "customer_detail.html", context, status_code=status_code)
    if revealed:
        response.headers["Cache-Control"] = "no-store"
    cookies.clear_flash(request, response)
    return response



async def custom_field_labels(caller: Caller, services: Any) -> dict[str, str]:
    """Custom field key -> its label (a field deleted since shows its key)."""
    try:
        reply = await caller.call(services.customers.ListCustomerFields, pb.ListCustomerFieldsRequest())
    except UpstreamError:
        return {}
    return {f.key: f.label for f in reply.items}

@router.get("/customers/{customer_id}")
async def show(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await detail_page(request, session, services, customer_id)


def _csrf_ok(form: Any, session: WebSession) -> bool:
    token = str(form.get("csrf_token") or "")
    return hmac.compare_digest(token.encode(), session.csrf.encode())


def _done(request: Request, customer_id: str, done: Msg, *, duplicates: bool = False) -> Response:
    """Back to the customer's page with a notice (`duplicates`: the save's check found some)."""
    response = RedirectResponse(f"/app/customers/{customer_id}", status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    message = flash_message(done)
    cookies.flash(response, {**message, possible_duplicates.FLASH_KEY: True} if duplicates else message)
    return response


@router.post("/customers/{customer_id}/edit")
async def edit(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    writable = writable_fields(session)
    values: dict[str, str] = {name: str(form.get(name) or "").strip() for name in EDIT_FIELDS if name in writable}
    if not values.get("owner_id"):  # no owner picker on the page: the owner stays as it is
        values.pop("owner_id", None)
    secrets: dict[str, str] = {
        name: str(form.get(name) or "").strip() for name in SENSITIVE_FIELDS if name in writable
    }
    if not _csrf_ok(form, session):
        return await detail_page(request, session, services, customer_id, status_code=403, values=values,
                                 form_error=messages(locale).gettext("The form expired; please submit it again."))
    sent = {**values, **{k: v for k, v in secrets.items() if v}}
    try:
        version = int(str(form.get("version") or "0"))
    except ValueError:
        version = 0
    caller = session_caller(request, session)
    try:
        updated = await caller.call(services.customers.UpdateCustomer, pb.UpdateCustomerRequest(
            id=customer_id, customer=customer_input(sent), expected_version=version,
            allow_duplicates=form.get("allow_duplicates") == "1"))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        status = exc.error.status
        if status == grpc.StatusCode.FAILED_PRECONDITION:
            # Someone saved first: show their version, keep what this user typed in the message.
            return await detail_page(request, session, services, customer_id, status_code=412,
                                     form_error=messages(locale).gettext(
                                         "Someone else changed this customer while you were editing. The form now "
                                         "shows their version; make your change again."))
        errors = localise_field_errors(exc.error.errors, locale, lambda f: f.removeprefix("customer."))
        placed = (*EDIT_FIELDS, *SENSITIVE_FIELDS)
        field_errors = {e["field"]: e["message"] for e in errors if e["field"] in placed}
        unplaced = [e["message"] for e in errors if e["field"] not in placed]
        form_error = (messages(locale).gettext("Please correct the highlighted fields.") if field_errors
                      else problem_text(exc, locale))
        if unplaced:
            form_error = " ".join([form_error, *unplaced])
        blocked = possible_duplicates.blocked(exc, customer_id, locale)
        if blocked:
            form_error = messages(locale).gettext(
                "Not saved: with these changes this customer looks like another one you have, and your company "
                "does not save likely duplicates.")
        code = 400 if status == grpc.StatusCode.INVALID_ARGUMENT else GRPC_TO_HTTP.get(status, INTERNAL)[0]
        return await detail_page(request, session, services, customer_id, status_code=code,
                                 values={**values, **secrets}, field_errors=field_errors, form_error=form_error,
                                 blocked=blocked)
    return _done(request, customer_id, N_("Changes saved."), duplicates=bool(updated.possible_duplicates))


@router.post("/customers/{customer_id}/status")
async def change_status(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(form, session):
        return await detail_page(request, session, services, customer_id, status_code=403,
                                 status_error=messages(locale).gettext("The form expired; please submit it again."))
    caller = session_caller(request, session)
    try:
        await caller.call(services.customers.ChangeCustomerStatus, pb.ChangeCustomerStatusRequest(
            id=customer_id, status=str(form.get("status") or ""), reason=str(form.get("reason") or "")))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        if exc.error.code == "transition_not_allowed":
            message = messages(locale).gettext("Your company's status rules do not allow this change.")
        else:
            errors = localise_field_errors(exc.error.errors, locale)
            message = "; ".join(e["message"] for e in errors) or problem_text(exc, locale)
        code = GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]
        return await detail_page(request, session, services, customer_id, status_code=code, status_error=message)
    return _done(request, customer_id, N_("Status changed."))


@router.post("/customers/{customer_id}/reveal")
async def reveal_fields(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    """Shows the plaintext once, in this response only (POST: never a link, never cached)."""
    form = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(form, session):
        return await detail_page(request, session, services, customer_id, status_code=403,
                                 form_error=messages(locale).gettext("The form expired; please submit it again."))
    asked = [f for f in form.getlist("field") if f in SENSITIVE_FIELDS] or list(SENSITIVE_FIELDS)
    caller = session_caller(request, session)
    try:
        reply = await reveal(caller, services, customer_id, [str(f) for f in asked], client_metadata(request))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        code = GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]
        return await detail_page(request, session, services, customer_id, status_code=code,
                                 form_error=problem_text(exc, locale))
    return await detail_page(request, session, services, customer_id, revealed=dict(reply.values))


FOLLOWUP_FIELDS: Final = ("followed_at", "method", "result", "content", "next_followup_at", "next_action", "task_id")


@router.post("/customers/{customer_id}/followups")
async def log_followup(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    """The record form of the customer page; errors come back inline on the page."""
    form = await request.form()
    target = f"/app/customers/{customer_id}#followups"
    if not csrf_ok(form, session):
        return RedirectResponse(target, status_code=303)
    caller = session_caller(request, session)
    locale = caller.locale
    zone = await followups.viewer_zone(request, caller, services)
    values = {name: str(form.get(name) or "") for name in FOLLOWUP_FIELDS}
    errors: dict[str, str] = {}
    followed_at = followups.parse_local(values["followed_at"], zone)
    next_at = followups.parse_local(values["next_followup_at"], zone)
    for name, parsed in (("followed_at", followed_at), ("next_followup_at", next_at)):
        if values[name] and parsed is None:
            errors[name] = messages(locale).gettext("Enter the date and time as shown.")
    if not errors:
        try:
            await caller.call(services.followups.CreateRecord, followups_pb.CreateRecordRequest(
                customer_id=customer_id, followed_at=followups.stamp(followed_at), method=values["method"],
                content=values["content"], result=values["result"], next_followup_at=followups.stamp(next_at),
                next_action=values["next_action"], task_id=values["task_id"]))
        except UpstreamError as exc:
            raise_if_signed_out(request, exc)
            for item in localise_field_errors(exc.error.errors, locale):
                errors[item["field"]] = item["message"]
            if not errors:
                errors["form"] = problem_text(exc, locale)
    if errors:
        return await detail_page(request, session, services, customer_id, status_code=400,
                                 followup_values=values, followup_errors=errors)
    response = RedirectResponse(target, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(N_("Follow-up logged.")))
    return response
