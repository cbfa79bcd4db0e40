"""Kinds of timeline entries (customer_activity.kind)."""

from __future__ import annotations

from typing import Final

CREATED: Final = "created"
UPDATED: Final = "updated"
OWNER_CHANGED: Final = "owner_changed"
STATUS_CHANGED: Final = "status_changed"
DELETED: Final = "deleted"
RESTORED: Final = "restored"
REVEALED: Final = "revealed"
TAG_APPLIED: Final = "tag_applied"
TAG_REMOVED: Final = "tag_removed"
TASK_CREATED: Final = "task_created"
TASK_COMPLETED: Final = "task_completed"
ORDER_RECORDED: Final = "order_recorded"
FOLLOWUP_RECORDED: Final = "followup_recorded"
KINDS: Final = (CREATED, UPDATED, OWNER_CHANGED, STATUS_CHANGED, DELETED, RESTORED, REVEALED, TAG_APPLIED,
                TAG_REMOVED, TASK_CREATED, TASK_COMPLETED, ORDER_RECORDED, FOLLOWUP_RECORDED)
# Entries that are nothing but field changes: skipped when the reader may see none of them.
ONLY_CHANGES: Final = frozenset({UPDATED, OWNER_CHANGED, STATUS_CHANGED})
