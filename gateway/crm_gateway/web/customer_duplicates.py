"""/app/customers/duplicates: "Scan now" with a progress bar that refreshes itself while the scan
runs (the pages carry no scripts: a meta refresh polls), then the open duplicate groups, highest
confidence first, with their members' key fields side by side, the reasons, Dismiss and
"Review & merge" (-> /app/customers/merge?ids=a,b,c). Pages call DuplicateService with the
session's token, so scopes and data scope are the service's, as for the REST API."""

from __future__ import annotations

import hmac
from typing import Any, Final
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.i18n import N_, Locale, Msg, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller, token_claims
from crm_gateway.web.common import SessionDep, flash_message, flash_text, problem_text, raise_if_signed_out
from crm_gateway.web.labels import label
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.customers.v1 import customers_pb2 as cpb
from crm_proto.crm.customers.v1 import duplicates_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE: Final = "/app/customers/duplicates"
PAGE_SIZE: Final = 20
MERGE_PAGE: Final = "/app/customers/merge"
POLICIES: Final = ("warn", "block")
# (row label key, customer field, reasons that point at the row)
ROWS: Final = (
    (N_("Code"), "code", ()),
    (N_("Name"), "name", ("name", "name_similar")),
    (N_("Contact person"), "contact_person", ("contact_person",)),
    (N_("Mobile"), "mobile", ("phone",)),
    (N_("Phone (landline)"), "phone", ("phone",)),
    (N_("Email"), "email", ("email", "email_domain")),
    (N_("Unified social credit code"), "credit_code", ("credit_code",)),
    (N_("Resident ID number"), "resident_id", ("resident_id",)),
    (N_("Bank card number"), "bank_card", ("bank_card",)),
    (N_("Region"), "region", ()),
    (N_("Created"), "created_at", ()),
)


def _is_admin(session: WebSession) -> bool:
    return "customers:admin" in str(token_claims(session.token).get("scope", "")).split()


def _scan_view(message: Any, locale: Locale) -> dict[str, Any]:
    running = message.status in ("queued", "running")
    percent = int(100 * message.processed / message.total) if message.total else 0
    finished = timestamp(message.finished_at)
    return {
        "id": message.id, "status": message.status, "running": running,
        "percent": 100 if message.status == "succeeded" else min(percent, 99 if running else 100),
        "state": label("dup.scan", message.status, locale),
        "phase": label("dup.phase", message.phase, locale) if message.phase and running else "",
        "groups_found": message.groups_found, "pairs_found": message.pairs_found,
        "finished": formatting.at(finished, locale), "error": message.error,
    }


def _value(member: Any, name: str) -> str:
    if name == "created_at":
        return formatting.on(timestamp(member.created_at), "en")
    if name == "region":
        return str(member.region).replace("/", " › ")
    return str(getattr(member, name))


def _group_view(message: Any, locale: Locale) -> dict[str, Any]:
    reasons = list(message.reasons)
    members = list(message.members)
    rows = []
    for row_label, name, pointed in ROWS:
        values = [_value(m, name) for m in members]
        if not any(values):
            continue
        same = len({v for v in values if v}) == 1 and all(values)
        rows.append({"label": messages(locale).text(row_label), "cells": values,
                     "matched": bool(set(pointed) & set(reasons)),
                     "same": same, "mono": name in ("code", "mobile", "phone", "credit_code", "resident_id",
                                                     "bank_card")})
    return {
        "id": message.id, "confidence": round(message.confidence * 100),
        "level": "high" if message.confidence >= 0.9 else "medium" if message.confidence >= 0.75 else "low",
        "reasons": [label("dup.reason", r, locale) for r in reasons],
        "members": [{"id": m.id, "name": m.name} for m in members], "rows": rows,
        "hidden": message.hidden_members,
        "merge_url": f"{MERGE_PAGE}?{urlencode({'ids': ','.join(m.id for m in members)}, safe=',')}",
        # A group too large to review as one (scan's grouping.py) is a sample: nothing to merge at once.
        "can_merge": len(members) >= 2 and not message.too_large,
        "too_large": message.too_large, "size": message.size,
    }


@router.get("/customers/duplicates")
async def duplicates_page(request: Request, session: SessionDep, services: BackendsDep,
                          page_token: str = "") -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    admin = _is_admin(session)
    error = None
    scan = None
    policy = ""
    groups: list[dict[str, Any]] = []
    next_token = ""
    status = 200
    try:
        if admin:
            scans = await caller.call(services.customer_duplicates.ListDuplicateScans,
                                      pb.ListDuplicateScansRequest(page_size=1))
            scan = _scan_view(scans.items[0], locale) if scans.items else None
            settings = await caller.call(services.customers.GetCustomerSettings, cpb.GetCustomerSettingsRequest())
            policy = settings.duplicate_policy or "warn"
        reply = await caller.call(services.customer_duplicates.ListDuplicateGroups,
                                  pb.ListDuplicateGroupsRequest(page_size=PAGE_SIZE, page_token=page_token))
        groups = [_group_view(g, locale) for g in reply.items]
        next_token = reply.next_page_token
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        error = problem_text(exc, locale)
        status = 403 if exc.error.status == grpc.StatusCode.PERMISSION_DENIED else 400
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    context = {
        "session": session, "user_label": session.user_name, "admin": admin, "scan": scan, "groups": groups,
        "policy": policy, "policies": POLICIES,
        "next_token": next_token, "first_page": not page_token, "error": error,
        "flash": flash_text(flash, locale),
    }
    response = render(request, "customer_duplicates.html", context, status_code=status)
    cookies.clear_flash(request, response)
    return response


def _csrf_ok(form: Any, session: WebSession) -> bool:
    token = str(form.get("csrf_token") or "")
    return hmac.compare_digest(token.encode(), session.csrf.encode())


async def _post(request: Request, session: WebSession, call: Any, message: Any, done: Msg) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(form, session):
        return Response(messages(locale).gettext("The form expired; please submit it again."), status_code=403,
                        media_type="text/plain")
    caller = session_caller(request, session)
    try:
        await caller.call(call, message)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        status = 403 if exc.error.status == grpc.StatusCode.PERMISSION_DENIED else 409
        return Response(problem_text(exc, locale), status_code=status, media_type="text/plain")
    response = RedirectResponse(PAGE, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(done))
    return response


@router.post("/customers/duplicates/scan")
async def start_scan(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _post(request, session, services.customer_duplicates.StartDuplicateScan,
                       pb.StartDuplicateScanRequest(), N_("Scan started."))


@router.post("/customers/duplicates/{group_id}/dismiss")
async def dismiss(group_id: str, request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _post(request, session, services.customer_duplicates.DismissDuplicateGroup,
                       pb.DismissDuplicateGroupRequest(id=group_id),
                       N_("Group dismissed; later scans will not group these customers again."))


@router.post("/customers/duplicates/policy")
async def set_policy(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    value = str(form.get("duplicate_policy") or "")
    if value not in POLICIES:
        return Response(messages(page_locale(request)).gettext("Please correct the highlighted fields."),
                        status_code=400, media_type="text/plain")
    return await _post(request, session, services.customers.UpdateCustomerSettings,
                       cpb.UpdateCustomerSettingsRequest(duplicate_policy=value), N_("Duplicate policy saved."))
