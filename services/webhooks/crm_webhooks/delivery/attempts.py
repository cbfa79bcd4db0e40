"""One attempt of a claimed delivery, end to end: read it (short transaction), POST it (no
transaction open), write the outcome (short transaction). Run by the dispatcher in a slot.

If the process dies between the POST and the write, the claim's lease runs out and the delivery
is attempted again: delivery is at-least-once, and receivers deduplicate on `webhook-id`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import tenant_session
from crm_webhooks.delivery.sender import WebhookSender
from crm_webhooks.delivery.service import DeliveryService
from crm_webhooks.dispatch.repository import Claimed


class DeliveryAttempts:
    def __init__(self, engine: AsyncEngine, deliveries: DeliveryService, sender: WebhookSender):
        self.engine = engine
        self.deliveries = deliveries
        self.sender = sender

    async def __call__(self, claimed: Claimed) -> str:
        """Returns the delivery's status afterwards ("" when nothing was sent)."""
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
