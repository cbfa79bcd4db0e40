"""The NATS edge of merges in followups (crm_platform/merges.py parses and dispatches; the inbox
makes each event apply once)."""

from __future__ import annotations

from crm_followups.merging import service
from crm_platform.consumer import Subscription
from crm_platform.merges import merge_subscription

DURABLE = "followups-merges"


def subscription() -> Subscription:
    return merge_subscription(DURABLE, merged=service.apply_merge, unmerged=service.undo_merge)
