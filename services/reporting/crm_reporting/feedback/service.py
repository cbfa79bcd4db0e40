"""Projecting `crm.feedback.created` and `crm.feedback.moved` into the `feedback` table (docs/reporting.md,
"Satisfaction panels")."""

from __future__ import annotations

import logging
import uuid
from typing import Final

from crm_platform import telemetry
from crm_platform.events import CloudEvent
from crm_reporting.analytics import Row, TenantTable
from crm_reporting.feedback.tables import FEEDBACK
from crm_reporting.timestamps import parse_rfc3339

log = logging.getLogger(__name__)

FEEDBACK_CREATED: Final = "crm.feedback.created"
# A merge moved the feedback to the surviving customer (or its undo moved it back): the same row
# with its new customer, inserted after the first; the table keeps the last inserted row of a
# feedback id (tables.py), and followups emits a feedback's events in order.
FEEDBACK_MOVED: Final = "crm.feedback.moved"


def feedback_rows(event: CloudEvent) -> list[tuple[TenantTable, Row]]:
    if event.type not in (FEEDBACK_CREATED, FEEDBACK_MOVED):
        return []
    data = event.data.get("feedback") or {}
    try:
        row: Row = {
            "tenant_id": uuid.UUID(event.tenantid), "feedback_id": uuid.UUID(str(data["id"])),
            "customer_id": uuid.UUID(str(data["customer_id"])), "channel": str(data.get("channel", "")),
            "category": str(data.get("category", "")), "rating": int(data.get("rating") or 0),
            "nps_score": int(data.get("nps_score", -1)), "sentiment": str(data.get("sentiment", "")),
            "sentiment_score": float(data.get("sentiment_score") or 0.0),
            "survey_kind": str(data.get("survey_kind", "")),
            "received_at": parse_rfc3339(data["received_at"]),
            "event_id": event.id,
        }
    except (KeyError, ValueError, TypeError):
        log.warning("feedback event not projected", extra=telemetry.log_fields(event_id=event.id))
        return []
    if row["received_at"] is None or not 0 <= row["rating"] <= 5 or not -1 <= row["nps_score"] <= 10:
        log.warning("feedback event not projected", extra=telemetry.log_fields(event_id=event.id))
        return []
    return [(FEEDBACK, row)]
