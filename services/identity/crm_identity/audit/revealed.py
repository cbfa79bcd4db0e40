"""The `identity-audit` consumer: customers' `crm.<tenant>.customer.revealed` (and `.exported`, and reporting's
`report.exported`) events written into the
tenant's audit log as `customer.revealed` (which fields, by whom; never the values). The inbox makes a
redelivered event a no-op, so each reveal appears once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.audit import log as audit
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent

DURABLE_NAME = "identity-audit"
SUBJECTS = ["crm.*.customer.revealed", "crm.*.customer.exported", "crm.*.customer.import_finished",
            "crm.*.customer.import_undone", "crm.*.report.exported", "crm.*.share_link.created",
            "crm.*.share_link.viewed", "crm.*.share_link.revoked"]


async def record_reveal(event: CloudEvent, session: AsyncSession) -> None:
    if ".share_link." in event.type:
        await record_share_link(event, session)
        return
    if event.type.endswith(".report.exported"):
        await record_report_export(event, session)
        return
    if event.type.endswith(".exported"):
        await record_export(event, session)
        return
    if event.type.endswith((".import_finished", ".import_undone")):
        await record_import(event, session)
        return
    data = event.data
    actor = str(data.get("actor") or "")
    kind = "client" if actor.startswith("client:") else ("user" if actor else "anonymous")
    try:
        at = datetime.fromisoformat(event.time)
    except (TypeError, ValueError):
        at = None
    await audit.record(
        session, audit.CUSTOMER_REVEALED, actor=actor, actor_kind=kind, target_type="customer",
        target_id=str(data.get("customer_id") or ""), at=at,
        details={"fields": list(data.get("fields") or []), "client_id": str(data.get("client_id") or ""),
                 "event_id": event.id},
        origin=audit.Origin(ip=str(data.get("ip") or ""), user_agent=str(data.get("user_agent") or "")),
    )


async def record_export(event: CloudEvent, session: AsyncSession) -> None:
    """A finished customer export (crm_customers/exports): who, how many rows, which filters and
    format, which columns; never the exported data."""
    data = event.data
    actor = str(data.get("actor") or "")
    kind = "client" if actor.startswith("client:") else ("user" if actor else "anonymous")
    try:
        at = datetime.fromisoformat(event.time)
    except (TypeError, ValueError):
        at = None
    await audit.record(
        session, audit.CUSTOMER_EXPORTED, actor=actor, actor_kind=kind, target_type="customer_export",
        target_id=str(data.get("export_id") or ""), at=at,
        details={"rows": int(data.get("rows") or 0), "format": str(data.get("format") or ""),
                 "filters": dict(data.get("filters") or {}), "columns": list(data.get("columns") or []),
                 "client_id": str(data.get("client_id") or ""), "event_id": event.id},
        origin=audit.Origin(ip=str(data.get("ip") or ""), user_agent=str(data.get("user_agent") or "")),
    )


async def record_report_export(event: CloudEvent, session: AsyncSession) -> None:
    """A finished report export (crm_reporting/reports/exports.py): who, which report, which format,
    how many rows; never the data."""
    data = event.data
    actor = str(data.get("actor") or "")
    kind = "client" if actor.startswith("client:") else ("user" if actor else "anonymous")
    try:
        at = datetime.fromisoformat(event.time)
    except (TypeError, ValueError):
        at = None
    await audit.record(
        session, audit.REPORT_EXPORTED, actor=actor, actor_kind=kind, target_type="report_export",
        target_id=str(data.get("export_id") or ""), at=at,
        details={"report_id": str(data.get("report_id") or ""), "format": str(data.get("format") or ""),
                 "rows": int(data.get("rows") or 0), "size_bytes": int(data.get("size_bytes") or 0),
                 "client_id": str(data.get("client_id") or ""), "event_id": event.id},
        origin=audit.Origin(ip=str(data.get("ip") or ""), user_agent=str(data.get("user_agent") or "")),
    )


async def record_import(event: CloudEvent, session: AsyncSession) -> None:
    """A customer import finished, or was undone (crm_customers/importing): who, which file, how
    many customers; never the rows."""
    data = event.data
    actor = str(data.get("actor") or "")
    kind = "client" if actor.startswith("client:") else ("user" if actor else "anonymous")
    try:
        at = datetime.fromisoformat(event.time)
    except (TypeError, ValueError):
        at = None
    finished = event.type.endswith(".import_finished")
    details = ({"filename": str(data.get("filename") or ""), "created": int(data.get("created") or 0),
                "updated": int(data.get("updated") or 0), "skipped": int(data.get("skipped") or 0)}
               if finished else {"undone": int(data.get("undone") or 0)})
    await audit.record(
        session, audit.CUSTOMER_IMPORTED if finished else audit.CUSTOMER_IMPORT_UNDONE, actor=actor,
        actor_kind=kind, target_type="customer_import", target_id=str(data.get("import_id") or ""), at=at,
        details={**details, "event_id": event.id},
    )


SHARE_LINK_ACTIONS = {"created": audit.SHARE_LINK_CREATED, "viewed": audit.SHARE_LINK_VIEWED,
                      "revoked": audit.SHARE_LINK_REVOKED}


async def record_share_link(event: CloudEvent, session: AsyncSession) -> None:
    """Reporting's share links (crm_reporting/delivery/share_links.py): made, revoked, and every
    open of the public page (`outcome`: shown, password_required, password_wrong, expired, revoked)
    with where it came from; never the token or the password."""
    data = event.data
    actor = str(data.get("actor") or "")
    kind = "user" if actor and actor != "anonymous" and not actor.startswith("client:") else (
        "client" if actor.startswith("client:") else "anonymous")
    try:
        at = datetime.fromisoformat(event.time)
    except (TypeError, ValueError):
        at = None
    verb = event.type.rsplit(".", 1)[-1]
    details = {"title": str(data.get("title") or ""), "target_kind": str(data.get("target_kind") or ""),
               "created_by": str(data.get("created_by") or ""), "event_id": event.id}
    for name in ("outcome", "expires_at", "password_protected"):
        if name in data:
            details[name] = data[name]
    await audit.record(
        session, SHARE_LINK_ACTIONS.get(verb, f"share_link.{verb}"), actor="" if kind == "anonymous" else actor,
        actor_kind=kind, target_type="share_link", target_id=str(data.get("link_id") or ""), at=at,
        details=details,
        origin=audit.Origin(ip=str(data.get("ip") or ""), user_agent=str(data.get("user_agent") or "")),
    )


def revealed_subscription() -> Subscription:
    return Subscription(durable=DURABLE_NAME, filter_subjects=SUBJECTS, handler=record_reveal)
