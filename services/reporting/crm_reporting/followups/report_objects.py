"""The report builder's follow-up objects (docs/reporting.md, "Report builder"): follow-up records
and feedback, each a table keyed by its record with the record's customer (`customer_id`), read as
the engine reads orders: narrowed to the report's customers, with the customer's dimensions
through the record's customer. This module says what the engine needs of each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from crm_platform.i18n import N_, Msg
from crm_reporting.analytics import TenantTable
from crm_reporting.feedback.panels import PASSIVE_FROM, PROMOTER_FROM, SATISFIED_FROM
from crm_reporting.feedback.tables import FEEDBACK
from crm_reporting.followups.tables import CUSTOMER_ACTIVITY, FOLLOWUP_RECORDS


@dataclass(frozen=True)
class RecordObject:
    table: TenantTable
    key: str  # the record's id column
    label: Msg  # the object, as the report's "Object" line names it
    record: Msg  # one record, as the underlying rows' first column is headed
    count: Msg  # the `count` measure
    # Field -> the SQL expression of the record's own column (dimensions and filters).
    columns: dict[str, str]


RECORD_OBJECTS: Final[dict[str, RecordObject]] = {
    "followup_records": RecordObject(
        FOLLOWUP_RECORDS, "record_id", N_("Follow-up records"), N_("Follow-up record"), N_("Number of follow-ups"),
        {"followed_by": "followed_by", "method": "method", "result": "result", "followed_at": "followed_at"}),
    "feedback": RecordObject(
        FEEDBACK, "feedback_id", N_("Feedback"), N_("Feedback"), N_("Number of feedback"),
        # The rating as text, so the choice filters compare it with their text values; "0": not rated.
        {"channel": "channel", "category": "category", "rating": "toString(rating)", "sentiment": "sentiment",
         "survey_kind": "survey_kind", "received_at": "received_at"}),
    # New, contacted, won and lost customers by when it happened ("monthly customer activity").
    "customer_activity": RecordObject(
        CUSTOMER_ACTIVITY, "source_id", N_("Customer activity"), N_("Activity"), N_("Number of activities"),
        {"activity": "activity", "happened_at": "happened_at"}),
}
RECORD_COLUMNS: Final[dict[str, str]] = {name: column for o in RECORD_OBJECTS.values()
                                         for name, column in o.columns.items()}
# Per-record figures of a measure over a record field ("not given" is NULL, so averages skip it).
RECORD_FIGURES: Final[dict[str, str]] = {"rating": "nullIf(rating, 0)"}
# The feedback aggregates, as the satisfaction panels compute them (feedback/panels.py).
CSAT_SQL: Final = (f"countIf(rating >= {SATISFIED_FROM}) / nullIf(countIf(rating > 0), 0)")
NPS_SQL: Final = (f"(countIf(nps_score >= {PROMOTER_FROM}) - countIf(nps_score >= 0 AND nps_score < {PASSIVE_FROM}))"
                  " * 100 / nullIf(countIf(nps_score >= 0), 0)")
