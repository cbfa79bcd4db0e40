"""Customer feedback (docs/followups.md, "Feedback"): what a customer said about the product, the
service or the price, through which channel, with a rating and the sentiment of the text.

Data scope is the customer's, as for follow-up records (crm_followups/access.py): feedback of a
customer outside the caller's scope is answered like missing feedback. The text is shown to whoever
may see the customer, exactly as a follow-up record's content (no field policy governs either).
Creating feedback emits `crm.feedback.created`, which reporting projects for the satisfaction panels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.feedback import repository, sentiment
from crm_followups.feedback.schemas import feedback_to_proto
from crm_followups.feedback.tables import feedback
from crm_followups.record import dictionaries
from crm_followups.task.service import SOURCE, TaskService, clean_content, parse_id
from crm_platform import outbox
from crm_platform.auth import Principal
from crm_platform.erasure import is_erased
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.events import proto_data
from crm_platform.ids import new_id
from crm_platform.pagination import page_size
from crm_proto.crm.followups.v1 import feedback_pb2 as pb

CHANNELS: Final = ("survey", "phone", "online_review", "email")
CATEGORY_DICTIONARY: Final = "feedback_category"
FUTURE_SLACK: Final = timedelta(minutes=5)


def _rating(value: int, errors: list[FieldError], *, required: bool = False) -> int | None:
    if value == 0 and not required:
        return None
    if not 1 <= value <= 5:
        errors.append(FieldError("rating", "out_of_range", "a rating is 1 to 5"))
        return None
    return value


class FeedbackService:
    def __init__(self, tasks: TaskService):
        self.access = tasks.access
        self.page_tokens = tasks.page_tokens

    async def create(self, session: AsyncSession, caller: Principal, *, customer_id: str, channel: str,
                     category: str, rating: int, text: str, received_at: datetime | None) -> sa.Row[Any]:
        now = datetime.now(UTC)
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=True)
        channel = channel.strip().lower()
        if not channel:
            errors.append(FieldError("channel", "required", "channel is required"))
        elif channel not in CHANNELS:
            errors.append(FieldError("channel", "unknown_code", f"one of {', '.join(CHANNELS)}"))
        categories = await dictionaries.load(session, CATEGORY_DICTIONARY)
        code = dictionaries.clean_code(categories, category, "category", errors, required=True)
        stars = _rating(rating, errors)
        body = clean_content(text, "text", errors, required=False)
        if stars is None and not body and not any(e.field == "rating" for e in errors):
            errors.append(FieldError("text", "required", "give a rating, a text or both"))
        at = received_at or now
        if at > now + FUTURE_SLACK:
            errors.append(FieldError("received_at", "in_future", "feedback was given: not in the future"))
        if errors:
            raise InvalidInput(errors)
        assert customer is not None
        if await is_erased(session, caller.tenant_id, customer):
            raise InvalidInput([FieldError("customer_id", "customer_erased", "the customer was erased")])
        await self.access.require_visible(session, caller, customer)
        return await self.insert(session, caller.tenant_id, customer_id=customer, channel=channel, category=code,
                                 rating=stars, nps_score=None, text=body, received_at=at, created_by=caller.actor)

    async def insert(self, session: AsyncSession, tenant_id: uuid.UUID, *, customer_id: uuid.UUID, channel: str,
                     category: str, rating: int | None, nps_score: int | None, text: str, received_at: datetime,
                     created_by: str, survey_id: uuid.UUID | None = None, survey_kind: str = "") -> sa.Row[Any]:
        """Stores checked feedback with its sentiment and emits `crm.feedback.created`."""
        scored = await sentiment.analyse_off_loop(text) if text else None
        row = await repository.insert(session, {
            "id": new_id(), "customer_id": customer_id, "channel": channel, "category": category, "rating": rating,
            "nps_score": nps_score, "text": text, "language": scored.language if scored else "",
            "sentiment": scored.label if scored else "", "sentiment_score": scored.score if scored else 0.0,
            "received_at": received_at, "survey_id": survey_id, "survey_kind": survey_kind,
            "created_by": created_by,
        })
        await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="feedback", verb="created",
                               data=proto_data(pb.FeedbackCreated(feedback=feedback_to_proto(row))),
                               subject_id=str(row.id))
        return row

    async def get(self, session: AsyncSession, caller: Principal, feedback_id: str) -> sa.Row[Any]:
        errors: list[FieldError] = []
        parsed = parse_id(feedback_id, "id", errors, required=True)
        if parsed is None:
            raise InvalidInput(errors)
        row = await repository.get(session, parsed)
        if row is None:
            raise NotFound("feedback not found")
        try:
            await self.access.require_visible(session, caller, row.customer_id)
        except NotFound:
            raise NotFound("feedback not found") from None
        return row

    async def list_page(self, session: AsyncSession, caller: Principal, *, customer_id: str, channel: str,
                        category: str, sentiment_label: str, rating: int, size: int,
                        token: str) -> tuple[list[sa.Row[Any]], str]:
        limit = page_size(size)
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=False)
        channel, category, sentiment_label = (channel.strip().lower(), category.strip().lower(),
                                              sentiment_label.strip().lower())
        if channel and channel not in CHANNELS:
            errors.append(FieldError("channel", "unknown_code", f"one of {', '.join(CHANNELS)}"))
        if sentiment_label and sentiment_label not in sentiment.LABELS:
            errors.append(FieldError("sentiment", "unknown_code", f"one of {', '.join(sentiment.LABELS)}"))
        if rating and not 1 <= rating <= 5:
            errors.append(FieldError("rating", "out_of_range", "a rating is 1 to 5"))
        if errors:
            raise InvalidInput(errors)
        query_key = ["feedback", str(customer or ""), channel, category, sentiment_label, str(rating)]
        before = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != query_key:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            before = (datetime.fromisoformat(cursor["d"]), uuid.UUID(cursor["i"]))
        scope = await self.access.scope(session, caller)
        rows = await repository.list_page(
            session, visible=self.access.condition(feedback.c.customer_id, scope), limit=limit + 1,
            customer_id=customer, channel=channel, category=category, sentiment=sentiment_label, rating=rating,
            before=before)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"q": query_key, "d": last.received_at.isoformat(),
                                                  "i": str(last.id)})
        return rows[:limit], next_token
