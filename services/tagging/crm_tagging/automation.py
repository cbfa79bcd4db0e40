"""Outcome automation's tags (docs/followups.md, "Outcome automation"): the `tagging-automation`
consumer applies followups' `crm.automation_rule.fired` events whose action is `add_tag`, with
source `manual` and the actor `automation:<rule id>` (in `tag.applied`, the tag history and
`applied_by`). An archived tag, a customer at its tag limit or erased: skipped, as for rules."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent
from crm_tagging.tag.changes import SOURCE_MANUAL
from crm_tagging.tag.service import TagService

DURABLE = "tagging-automation"
SUBJECTS = ["crm.*.automation_rule.fired"]


def subscription(tags: TagService) -> Subscription:
    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        data = event.data or {}
        actor = str(data.get("actor") or "")
        if data.get("action") != "add_tag" or not actor.startswith("automation:"):
            return
        try:
            customer_id, tag_id = uuid.UUID(str(data.get("customer_id"))), uuid.UUID(str(data.get("tag_id")))
        except ValueError:
            return
        await tags.apply_checked(session, event.tenantid, customer_id=customer_id, tag_id=tag_id,
                                 source=SOURCE_MANUAL, actor=actor)

    return Subscription(durable=DURABLE, filter_subjects=SUBJECTS, handler=handle)
