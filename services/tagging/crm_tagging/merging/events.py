"""The NATS edge of merges in tagging: `customer.merged` moves tags, `customer.unmerged` puts
them back (crm_platform/merges.py parses and dispatches; the inbox makes each apply once)."""

from __future__ import annotations

from crm_platform.consumer import Subscription
from crm_platform.merges import merge_subscription
from crm_tagging.merging import service

DURABLE = "tagging-merges"


def subscription() -> Subscription:
    return merge_subscription(DURABLE, merged=service.apply_merge, unmerged=service.undo_merge)
