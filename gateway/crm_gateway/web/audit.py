"""/app/audit: tenant admins search the audit log (filters: actor, action prefix, target, time) and
download it as CSV. Pages call identity with the session's token, so `audit:read` is enforced by
identity as for the REST API; the export is audited like the REST one."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import grpc
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response, StreamingResponse

from crm_gateway.api.audit_events import AuditFilters, AuditSearch, audit_request, csv_lines
from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.clients import Caller, request_origin
from crm_gateway.i18n import Locale, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import LoginRequired, session_caller
from crm_gateway.web.common import SessionDep, problem_text, user_label
from crm_gateway.web.formatting import value_list
from crm_gateway.web.labels import label
from crm_gateway.web.session import WebSession
from crm_gateway.web.templating import render
from crm_platform.pagination import MAX_PAGE_SIZE
from crm_proto.crm.followups.v1 import automation_pb2 as apb
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE: Final = "/app/audit"
PAGE_SIZE: Final = 50
FILTER_FIELDS: Final = ("actor", "action", "target_id", "occurred_after", "occurred_before")


def _caller(request: Request, session: WebSession) -> Caller:
    return dataclasses.replace(session_caller(request, session), origin=request_origin(request))


def _values(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip() for k in (*FILTER_FIELDS, "page_token")}


def _filters(values: dict[str, str], zone: ZoneInfo) -> tuple[AuditFilters | None, dict[str, str]]:
    """The form's values as filters (datetime-local inputs are wall-clock times in the viewer's
    zone, like the times the page shows), or field errors."""
    given = {k: v for k, v in values.items() if v}
    for name in ("occurred_after", "occurred_before"):
        if name in given and len(given[name]) == 16:  # 2026-11-23T10:00 from <input type=datetime-local>
            try:
                local = datetime.fromisoformat(given[name]).replace(tzinfo=zone)
                given[name] = local.astimezone(UTC).isoformat().replace("+00:00", "Z")
            except ValueError:
                pass
    try:
        return AuditFilters.model_validate({"page_size": PAGE_SIZE, **given}), {}
    except ValidationError as exc:
        return None, {str(e["loc"][0]): "invalid" for e in exc.errors()}


@dataclass
class People:
    """Who the log's ids are: users and API clients by name (each list is read once per page;
    a role that may not list them sees the ids)."""

    users: dict[str, str] = dataclasses.field(default_factory=dict)
    clients: dict[str, str] = dataclasses.field(default_factory=dict)
    # Automation rules by id: the name an entry recorded (`rule_name`), else followups' current one.
    automations: dict[str, str] = dataclasses.field(default_factory=dict)

    def name(self, ref: str, locale: Locale) -> str:
        """A user id, `client:<id>`, `automation:<rule>`, `system` or a bare client id, in words."""
        if ref in self.users:
            return self.users[ref]
        kind, _, rest = ref.partition(":")
        if kind == "client" and rest:
            return self.clients.get(rest, rest)
        if ref in self.clients:
            return self.clients[ref]
        if kind == "automation":
            return messages(locale).gettext("Automation (%(rule)s)", rule=self.automations.get(rest, rest))
        if ref == "system":
            return label("audit.kind", "system", locale)
        return ref


async def people(caller: Caller, services: Any) -> People:
    async def users() -> dict[str, str]:
        try:
            reply = await caller.call(services.identity.ListUsers, pb.ListUsersRequest(page_size=MAX_PAGE_SIZE))
        except UpstreamError:
            return {}
        return {u.id: u.display_name or u.email for u in reply.items}

    async def clients() -> dict[str, str]:
        try:
            reply = await caller.call(services.identity.ListClients, pb.ListClientsRequest())
        except UpstreamError:
            return {}
        return {c.client_id: c.name for c in reply.items}

    async def automations() -> dict[str, str]:
        try:
            reply = await caller.call(services.followup_automation.ListAutomationRules,
                                      apb.ListAutomationRulesRequest())
        except UpstreamError:  # no followups:read, or followups down: the names the entries recorded
            return {}
        return {r.id: r.name for r in reply.items}

    found_users, found_clients, found_rules = await asyncio.gather(users(), clients(), automations())
    return People(found_users, found_clients, found_rules)


# Scopes listed by name up to this many; more are counted.
SCOPES_LISTED: Final = 3
# Details whose values are people or scopes, shown by name.
PERSON_DETAILS: Final = frozenset({"user_id", "owner_id", "client_id", "actor", "by", "revoked_by", "invited_by"})


def _detail(key: str, value: Any, known: People, locale: Locale) -> str:
    if isinstance(value, list):
        return "/".join(_detail(key, v, known, locale) for v in value)
    if isinstance(value, dict) and {"from", "to"} <= set(value):  # an old -> new change
        return f"{_detail(key, value['from'], known, locale)} → {_detail(key, value['to'], known, locale)}"
    text = str(value)
    if key in PERSON_DETAILS:
        return known.name(text, locale)
    if key in ("scope", "scopes"):
        scopes = text.split()
        if len(scopes) > SCOPES_LISTED:  # an admin's token holds ~20: a count keeps the row readable
            return messages(locale).ngettext("%(num)d scopes", "%(num)d scopes", len(scopes))
        return value_list((label("scope", s, locale) for s in scopes), locale)
    if key == "status":
        return label("status", text, locale)
    return text


def _row(message: Any, known: People, locale: Locale) -> dict[str, Any]:
    details = json.loads(message.details_json or "{}")
    if message.actor_kind == "automation" and details.get("rule_name"):  # the name it had then
        known.automations[str(details.get("rule_id") or "")] = str(details["rule_name"])
    target = message.target_id
    return {
        "when": formatting.at(timestamp(message.occurred_at), locale), "actor": known.name(message.actor, locale),
        "actor_id": message.actor, "actor_kind": message.actor_kind, "action": message.action,
        "target": (f"{message.target_type}: {known.name(target, locale)}" if target else message.target_type),
        "ip": message.ip, "user_agent": message.user_agent,
        "details": "; ".join(f"{k}: {_detail(k, v, known, locale)}" for k, v in sorted(details.items())),
    }


def _signed_out(exc: UpstreamError) -> None:
    if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
        raise LoginRequired(PAGE) from exc


@router.get("/audit")
async def audit_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = _caller(request, session)
    locale = caller.locale
    values = _values(request)
    filters, field_errors = _filters(values, formatting.viewer_zone(request, locale))
    rows: list[dict[str, Any]] = []
    next_token = ""
    error = messages(locale).gettext("Check the highlighted filters.") if field_errors else None
    status = 400 if field_errors else 200
    if filters is not None:
        try:
            reply = await caller.call(services.identity.ListAuditEvents, audit_request(
                filters, page_size=PAGE_SIZE, page_token=filters.page_token))
            known = await people(caller, services)
            rows = [_row(m, known, locale) for m in reply.items]
            next_token = reply.next_page_token
        except UpstreamError as exc:
            _signed_out(exc)
            error = problem_text(exc, locale)
            status = 403 if exc.error.status == grpc.StatusCode.PERMISSION_DENIED else 400
    query = {k: v for k, v in values.items() if v and k != "page_token"}
    context = {
        "session": session,
        "user_label": user_label(session, locale),
        "rows": rows, "zone": formatting.zone_label(formatting.viewer_zone(request, locale), locale),
        "values": values, "field_errors": field_errors, "error": error, "query": query,
        "next_token": next_token, "first_page": not values["page_token"],
    }
    return render(request, "audit.html", context, status_code=status)


@router.get("/audit/export")
async def audit_export(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = _caller(request, session)
    values = {k: v for k, v in _values(request).items() if k != "page_token"}
    filters, _errors = _filters(values, formatting.viewer_zone(request, caller.locale))
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
