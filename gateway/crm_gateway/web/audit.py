"""/app/audit: tenant admins search the audit log (filters: actor, action prefix, target, time) and
download it as CSV. Pages call identity with the session's token, so `audit:read` is enforced by
identity as for the REST API; the export is audited like the REST one."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any, Final

import grpc
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response, StreamingResponse

from crm_gateway.api.audit_events import AuditFilters, AuditSearch, audit_request, csv_lines
from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.clients import Caller, request_origin
from crm_gateway.i18n import messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web.auth import LoginRequired, session_caller
from crm_gateway.web.common import SessionDep, problem_text, user_label
from crm_gateway.web.session import WebSession
from crm_gateway.web.templating import render
from crm_platform.pagination import MAX_PAGE_SIZE

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE: Final = "/app/audit"
PAGE_SIZE: Final = 50
FILTER_FIELDS: Final = ("actor", "action", "target_id", "occurred_after", "occurred_before")


def _caller(request: Request, session: WebSession) -> Caller:
    return dataclasses.replace(session_caller(request, session), origin=request_origin(request))


def _values(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip() for k in (*FILTER_FIELDS, "page_token")}


def _filters(values: dict[str, str]) -> tuple[AuditFilters | None, dict[str, str]]:
    """The form's values as filters (datetime-local inputs are taken as UTC), or field errors."""
    given = {k: v for k, v in values.items() if v}
    for name in ("occurred_after", "occurred_before"):
        if name in given and len(given[name]) == 16:  # 2026-11-23T10:00 from <input type=datetime-local>
            given[name] += ":00Z"
    try:
        return AuditFilters.model_validate({"page_size": PAGE_SIZE, **given}), {}
    except ValidationError as exc:
        return None, {str(e["loc"][0]): "invalid" for e in exc.errors()}


def _row(message: Any) -> dict[str, Any]:
    when = timestamp(message.occurred_at)
    details = json.loads(message.details_json or "{}")
    return {
        "when": when.strftime("%Y-%m-%d %H:%M:%S") if when else "", "actor": message.actor,
        "actor_kind": message.actor_kind, "action": message.action,
        "target": f"{message.target_type}:{message.target_id}" if message.target_id else message.target_type,
        "ip": message.ip, "user_agent": message.user_agent,
        "details": ", ".join(f"{k}={v if not isinstance(v, list) else '/'.join(map(str, v))}"
                             for k, v in sorted(details.items())),
    }


def _signed_out(exc: UpstreamError) -> None:
    if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
        raise LoginRequired(PAGE) from exc


@router.get("/audit")
async def audit_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = _caller(request, session)
    locale = caller.locale
    values = _values(request)
    filters, field_errors = _filters(values)
    rows: list[dict[str, Any]] = []
    next_token = ""
    error = messages(locale).gettext("Check the highlighted filters.") if field_errors else None
    status = 400 if field_errors else 200
    if filters is not None:
        try:
            reply = await caller.call(services.identity.ListAuditEvents, audit_request(
                filters, page_size=PAGE_SIZE, page_token=filters.page_token))
            rows = [_row(m) for m in reply.items]
            next_token = reply.next_page_token
        except UpstreamError as exc:
            _signed_out(exc)
            error = problem_text(exc, locale)
            status = 403 if exc.error.status == grpc.StatusCode.PERMISSION_DENIED else 400
    query = {k: v for k, v in values.items() if v and k != "page_token"}
    context = {
        "session": session,
        "user_label": user_label(session, locale),
        "rows": rows, "values": values, "field_errors": field_errors, "error": error, "query": query,
        "next_token": next_token, "first_page": not values["page_token"],
    }
    return render(request, "audit.html", context, status_code=status)


@router.get("/audit/export")
async def audit_export(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = _caller(request, session)
    values = {k: v for k, v in _values(request).items() if k != "page_token"}
    filters, _errors = _filters(values)
    if filters is None:
        return Response(messages(caller.locale).gettext("Check the highlighted filters."), status_code=400,
                        media_type="text/plain")
    search = AuditSearch(**filters.model_dump(include=set(AuditSearch.model_fields)))
    try:
        first = await caller.call(services.identity.ListAuditEvents, audit_request(
            search, page_size=MAX_PAGE_SIZE, page_token="", record_export=True))
    except UpstreamError as exc:
        _signed_out(exc)
        return Response(problem_text(exc, caller.locale), status_code=403, media_type="text/plain")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        csv_lines(first, search, caller, services), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-events-{stamp}.csv"'},
    )
