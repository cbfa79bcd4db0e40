"""The `identity-audit` consumer: customers' `crm.<tenant>.customer.revealed` events written into the
tenant's audit log as `customer.revealed` (which fields, by whom; never the values). The inbox makes a
redelivered event a no-op, so each reveal appears once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.audit import log as audit
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent

DURABLE_NAME = "identity-audit"
SUBJECTS = ["crm.*.customer.revealed"]


async def record_reveal(event: CloudEvent, session: AsyncSession) -> None:
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


def revealed_subscription() -> Subscription:
    return Subscription(durable=DURABLE_NAME, filter_subjects=SUBJECTS, handler=record_reveal)
