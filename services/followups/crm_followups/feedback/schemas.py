"""The one mapping between stored feedback and surveys and their contract shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from crm_followups.task.schemas import optional_timestamp, timestamp
from crm_platform.access import field_policy
from crm_platform.auth import Principal
from crm_proto.crm.followups.v1 import feedback_pb2 as pb


def feedback_to_proto(row: sa.Row[Any]) -> pb.Feedback:
    return pb.Feedback(
        id=str(row.id), customer_id=str(row.customer_id), channel=row.channel, category=row.category,
        rating=row.rating or 0, text=row.text, sentiment=row.sentiment, sentiment_score=row.sentiment_score,
        language=row.language, received_at=timestamp(row.received_at), created_by=row.created_by,
        created_at=timestamp(row.created_at), survey_id=str(row.survey_id or ""), survey_kind=row.survey_kind,
        nps_score=-1 if row.nps_score is None else row.nps_score,
    )


def survey_status(row: sa.Row[Any], now: datetime) -> str:
    if row.answered_at is not None:
        return "answered"
    return "sent" if row.expires_at > now else "expired"


def survey_to_proto(row: sa.Row[Any], viewer: Principal | None, now: datetime) -> pb.Survey:
    """The address follows the viewer's field policy on the customer's `email` (hidden: empty,
    masked: `****`), as the customer record itself would show it."""
    email = row.email
    if viewer is not None:
        policy = field_policy(viewer, "email")
        email = "" if policy == "hidden" else "****" if policy == "masked" else email
    return pb.Survey(
        id=str(row.id), customer_id=str(row.customer_id), kind=row.kind, language=row.language, email=email,
        status=survey_status(row, now), sent_by=row.sent_by, sent_at=timestamp(row.sent_at),
        expires_at=timestamp(row.expires_at), answered_at=optional_timestamp(row.answered_at),
        feedback_id=str(row.feedback_id or ""),
    )
