"""/v1/audit-events: the tenant's append-only audit log (identity; docs/identity.md#audit-log).
Search (newest first, AIP-158 paging) and CSV export, both `audit:read`; an export is itself audited
(`audit.exported`). There is deliberately no route that changes or deletes an entry."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field

from crm_gateway.api.common import BackendsDep, CallerDep, Page, PageQuery, Resource, operation, page, timestamp
from crm_gateway.clients import Caller
from crm_platform.auth import Scope
from crm_platform.pagination import MAX_PAGE_SIZE
from crm_platform.text import csv_cell
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/v1", tags=["audit log"])

CSV_COLUMNS = ("id", "occurred_at", "actor", "actor_kind", "action", "target_type", "target_id", "ip",
               "user_agent", "details")


class AuditEvent(Resource):
    id: str
    occurred_at: datetime | None
    actor: str = Field(description='A user id, `client:<client id>`, `automation:<rule id>` (an outcome automation '
                       'rule; `details.rule_name` names it), or "" when nobody is known (unknown email)')
    actor_kind: str = Field(description='"user", "client", "automation", "anonymous" or "system"')
    action: str = Field(description="Stable dotted name, e.g. `login.failed`, `client.created`")
    target_type: str
    target_id: str
    ip: str = Field(description="The proxy chain and the gateway's peer, as forwarded")
    user_agent: str
    details: dict[str, Any] = Field(description="Action-specific facts; never secrets or revealed values")


class AuditSearch(BaseModel):
    """The filters (the export takes these alone: it is never paged)."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field("", description="Exact actor (user id or `client:<id>`)")
    action: str = Field("", description="Action prefix, e.g. `login.` or `client.created`")
    target_id: str = Field("", description="Exact target id")
    occurred_after: datetime | None = Field(None, description="RFC 3339; entries strictly after")
    occurred_before: datetime | None = Field(None, description="RFC 3339; entries strictly before")


class AuditFilters(AuditSearch, PageQuery):
    model_config = ConfigDict(extra="forbid")


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def audit_request(filters: AuditSearch, *, page_size: int, page_token: str, record_export: bool = False) -> Any:
    """ListAuditEvents for these filters."""
    return pb.ListAuditEventsRequest(
        page_size=page_size, page_token=page_token, actor=filters.actor, action_prefix=filters.action,
        target_id=filters.target_id, occurred_after=_ts(filters.occurred_after),
        occurred_before=_ts(filters.occurred_before), record_export=record_export,
    )


def event_out(message: Any) -> AuditEvent:
    return AuditEvent(
        id=message.id, occurred_at=timestamp(message.occurred_at), actor=message.actor,
        actor_kind=message.actor_kind, action=message.action, target_type=message.target_type,
        target_id=message.target_id, ip=message.ip, user_agent=message.user_agent,
        details=json.loads(message.details_json or "{}"),
    )


@router.get(
    "/audit-events",
    response_model=Page[AuditEvent],
    **operation(operation_id="listAuditEvents", summary="Search the audit log (newest first)",
                scopes=[Scope.AUDIT_READ], errors=[400]),
)
async def list_audit_events(
    filters: Annotated[AuditFilters, Query()], caller: CallerDep, services: BackendsDep
) -> Page[AuditEvent]:
    reply = await caller.call(services.identity.ListAuditEvents,
                              audit_request(filters, page_size=filters.size, page_token=filters.page_token))
    return page([event_out(e) for e in reply.items], reply.next_page_token)


def _csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(v) for v in values])
    return buffer.getvalue()


def _row(message: Any) -> list[str]:
    when = timestamp(message.occurred_at)
    return [message.id, when.isoformat() if when else "", message.actor, message.actor_kind, message.action,
            message.target_type, message.target_id, message.ip, message.user_agent, message.details_json]


async def csv_lines(first: Any, filters: AuditSearch, caller: Caller, services: Any) -> AsyncIterator[str]:
    yield "\ufeff" + _csv_line(list(CSV_COLUMNS))  # BOM: Excel opens UTF-8 (Chinese) text correctly
    reply = first
    while True:
        for message in reply.items:
            yield _csv_line(_row(message))
        if not reply.next_page_token:
            return
        reply = await caller.call(services.identity.ListAuditEvents,
                                  audit_request(filters, page_size=MAX_PAGE_SIZE, page_token=reply.next_page_token))


def _export_operation() -> dict[str, Any]:
    kwargs = operation(operation_id="exportAuditEvents", summary="Export the audit log as CSV (the export is audited)",
                       scopes=[Scope.AUDIT_READ], errors=[400])
    kwargs["responses"] = {**kwargs["responses"],
                           200: {"content": {"text/csv": {}}, "description": "CSV (UTF-8 with BOM), newest first"}}
    return kwargs


@router.get("/audit-events:export", response_class=StreamingResponse, **_export_operation())
async def export_audit_events(
    filters: Annotated[AuditSearch, Query()], caller: CallerDep, services: BackendsDep
) -> StreamingResponse:
    # The first page is read (and the export recorded) before the response starts, so a bad filter or a
    # missing scope is still a problem+json answer.
    first = await caller.call(services.identity.ListAuditEvents,
                              audit_request(filters, page_size=MAX_PAGE_SIZE, page_token="", record_export=True))
    return StreamingResponse(
        csv_lines(first, filters, caller, services), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'},
    )
