"""One attempt of a claimed delivery, end to end: read it (short transaction), POST it (no
transaction open), write the outcome (short transaction). Run by the dispatcher in a slot.

If the process dies between the POST and the write, the claim's lease runs out and the delivery
is attempted again: delivery is at-least-once, and receivers deduplicate on `webhook-id`. A
delivery whose attempts keep ending without an outcome (the same error every time, e.g. a stored
secret that no longer decrypts) is given up as dead after MAX_UNFINISHED claims instead of being
claimed again forever.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import tenant_session
from crm_webhooks.delivery.sender import WebhookSender
from crm_webhooks.delivery.service import DeliveryService
from crm_webhooks.dispatch.repository import Claimed

MAX_UNFINISHED = 3


class DeliveryAttempts:
    def __init__(self, engine: AsyncEngine, deliveries: DeliveryService, sender: WebhookSender):
        self.engine = engine
        self.deliveries = deliveries
        self.sender = sender

    async def __call__(self, claimed: Claimed) -> str:
        """Returns the delivery's status afterwards ("" when nothing was sent)."""
        if claimed.unfinished >= MAX_UNFINISHED:
            async with tenant_session(self.engine, claimed.tenant_id) as session:
                await self.deliveries.give_up(session, claimed)
            return "dead"
        async with tenant_session(self.engine, claimed.tenant_id) as session:
            attempt = await self.deliveries.prepare_attempt(session, claimed)
        if attempt is None:
            return ""
        attempted_at = datetime.now(UTC)
        outcome = await self.sender.send(
            url=attempt.url, secret=attempt.secret, message_id=attempt.message_id, body=attempt.body
        )
        async with tenant_session(self.engine, claimed.tenant_id) as session:
            return await self.deliveries.record_outcome(session, claimed, attempt, outcome, attempted_at)
