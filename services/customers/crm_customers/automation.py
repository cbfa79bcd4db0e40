"""Outcome automation's status changes (docs/followups.md, "Outcome automation"): the
`customers-automation` consumer applies followups' `crm.automation_rule.fired` events whose action
is `set_status`, as the actor `automation:<rule id>` (the status history, the activity timeline and
`updated_by` carry it). A change the tenant's transitions do not allow (e.g. already won), or a
customer deleted or merged away, is skipped and logged: a rule's wish never fails the stream."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.service import CustomerService
from crm_platform import telemetry
from crm_platform.auth import Principal
from crm_platform.consumer import Subscription
from crm_platform.errors import DomainError
from crm_platform.events import CloudEvent

log = logging.getLogger(__name__)

DURABLE = "customers-automation"
SUBJECTS = ["crm.*.automation_rule.fired"]


@dataclass(frozen=True)
class AutomationPrincipal(Principal):
    """An automation rule acting on the tenant: every customer, written as `automation:<rule id>`."""

    rule_actor: str = ""

    @property
    def actor(self) -> str:
        return self.rule_actor


def subscription(customers: CustomerService) -> Subscription:
    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        data = event.data or {}
        if data.get("action") != "set_status":
            return
        actor = str(data.get("actor") or "")
        if not actor.startswith("automation:"):
            return
        caller = AutomationPrincipal(tenant_id=uuid.UUID(event.tenantid), subject=actor, client_id="",
                                     scopes=frozenset({"customers:read", "customers:write"}), data_scope="all",
                                     rule_actor=actor)
        try:
            async with session.begin_nested():
                await customers.change_status(session, caller, str(data.get("customer_id") or ""),
                                              str(data.get("status") or ""), str(data.get("reason") or ""))
        except DomainError as exc:
            log.info("automation status change skipped", extra=telemetry.log_fields(
                event_id=event.id, rule=actor, reason=str(exc)))

    return Subscription(durable=DURABLE, filter_subjects=SUBJECTS, handler=handle)
