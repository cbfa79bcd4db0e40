"""Customer feedback (docs/followups.md, "Feedback"): what a customer said about the product, the
service or the price, through which channel, with a rating and the sentiment of the text.

Data scope is the customer's, as for follow-up records (crm_followups/access.py): feedback of a
customer outside the caller's scope is answered like missing feedback. The text is shown to whoever
may see the customer, exactly as a follow-up record's content (no field policy governs either).
Creating feedback emits `crm.feedback.created`, which reporting projects for the satisfaction panels."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.feedback import repository, sentiment
from crm_followups.feedback.schemas import feedback_to_proto
from crm_followups.feedback.tables import feedback
from crm_followups.record import dictionaries
from crm_followups.task.service import SOURCE, TaskService, clean_content, parse_id, visible_row
from crm_platform import outbox
from crm_platform.auth import Principal
from crm_platform.erasure import erased_among
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.events import proto_data
from crm_platform.ids import new_id
from crm_platform.pagination import page_size
from crm_proto.crm.followups.v1 import feedback_pb2 as pb

CHANNELS: Final = ("survey", "phone", "online_review", "email")
MAX_BATCH: Final = 500
CATEGORY_DICTIONARY: Final = "feedback_category"
FUTURE_SLACK: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class NewFeedback:
    customer_id: str
    channel: str
    category: str
    rating: int = 0
    text: str = ""
    received_at: datetime | None = None
    nps_score: int | None = None


def _check(item: NewFeedback, categories: dictionaries.Dictionary, now: datetime, prefix: str) -> dict[str, Any]:
    """The values to store; InvalidInput naming `<prefix><field>`."""
    errors: list[FieldError] = []
    customer = parse_id(item.customer_id, f"{prefix}customer_id", errors, required=True)
    channel = item.channel.strip().lower()
    if not channel:
        errors.append(FieldError(f"{prefix}channel", "required", "channel is required"))
    elif channel not in CHANNELS:
        errors.append(FieldError(f"{prefix}channel", "unknown_code", f"one of {', '.join(CHANNELS)}"))
    code = dictionaries.clean_code(categories, item.category, f"{prefix}category", errors, required=True)
    stars: int | None = item.rating or None
    if stars is not None and not 1 <= stars <= 5:
        errors.append(FieldError(f"{prefix}rating", "out_of_range", "a rating is 1 to 5"))
    nps = item.nps_score
    if nps is not None and not 0 <= nps <= 10:
        errors.append(FieldError(f"{prefix}nps_score", "out_of_range", "an NPS answer is 0 to 10"))
    elif nps is not None and channel != "survey":
        errors.append(FieldError(f"{prefix}nps_score", "not_allowed", "an NPS score comes from a survey"))
    body = clean_content(item.text, f"{prefix}text", errors, required=False)
    if stars is None and nps is None and not body and not any(
            e.field in (f"{prefix}rating", f"{prefix}nps_score", f"{prefix}text") for e in errors):
        errors.append(FieldError(f"{prefix}text", "required", "give a rating, a text or both"))
    at = item.received_at or now
    if at > now + FUTURE_SLACK:
        errors.append(FieldError(f"{prefix}received_at", "in_future", "feedback was given: not in the future"))
    if errors:
        raise InvalidInput(errors)
    return {"customer_id": customer, "channel": channel, "category": code, "rating": stars, "nps_score": nps,
            "text": body, "received_at": at, "survey_kind": "nps" if nps is not None else ""}


class FeedbackService:
    def __init__(self, tasks: TaskService):
        self.access = tasks.access
        self.page_tokens = tasks.page_tokens

    async def create(self, session: AsyncSession, caller: Principal, item: NewFeedback) -> sa.Row[Any]:
        categories = await dictionaries.load(session, CATEGORY_DICTIONARY)
        checked = _check(item, categories, datetime.now(UTC), "")
        await self._require_customers(session, caller, [checked])
        return await self.insert(session, caller.tenant_id, **checked, created_by=caller.actor)

    async def create_many(self, session: AsyncSession, caller: Principal, items: list[NewFeedback]) -> list[str]:
        """All or none; errors name `items[i].<field>`. Each customer must be one the caller may see."""
        if not items or len(items) > MAX_BATCH:
            raise InvalidInput([FieldError("items", "required" if not items else "too_many",
                                           f"1 to {MAX_BATCH} items")])
        categories = await dictionaries.load(session, CATEGORY_DICTIONARY)
        now = datetime.now(UTC)
        checked: list[dict[str, Any]] = []
        errors: list[FieldError] = []
        for index, item in enumerate(items):
            try:
                checked.append(_check(item, categories, now, f"items[{index}]."))
            except InvalidInput as exc:
                errors += exc.errors
        if errors:
            raise InvalidInput(errors)
        await self._require_customers(session, caller, checked)
        rows = await self.insert_many(session, caller.tenant_id, [{**values, "created_by": caller.actor}
                                                                  for values in checked])
        return [str(row.id) for row in rows]

    async def _require_customers(self, session: AsyncSession, caller: Principal,
                                 checked: list[dict[str, Any]]) -> None:
        """Every named customer exists, is not erased and is in the caller's scope, in a fixed
        number of statements however many items name them (customers the projection does not
        know yet are asked of the customers service one by one)."""
        customers = list(dict.fromkeys(values["customer_id"] for values in checked))
        if await erased_among(session, caller.tenant_id, customers):
            raise InvalidInput([FieldError("customer_id", "customer_erased", "the customer was erased")])
        await self.access.require_all_visible(session, caller, customers)

    async def insert(self, session: AsyncSession, tenant_id: uuid.UUID, *, customer_id: uuid.UUID, channel: str,
                     category: str, rating: int | None, nps_score: int | None, text: str, received_at: datetime,
                     created_by: str, survey_id: uuid.UUID | None = None, survey_kind: str = "") -> sa.Row[Any]:
        """Stores checked feedback with its sentiment and emits `crm.feedback.created`."""
        return (await self.insert_many(session, tenant_id, [{
            "customer_id": customer_id, "channel": channel, "category": category, "rating": rating,
            "nps_score": nps_score, "text": text, "received_at": received_at, "created_by": created_by,
            "survey_id": survey_id, "survey_kind": survey_kind}]))[0]

    async def insert_many(self, session: AsyncSession, tenant_id: uuid.UUID,
                          items: list[dict[str, Any]]) -> list[sa.Row[Any]]:
        """`insert` for many: the texts scored in one worker-thread hop, one INSERT, one outbox
        INSERT (a batch of 500 costs a handful of statements, not 2,500)."""
        scores = await sentiment.analyse_many_off_loop([str(item.get("text") or "") for item in items])
        values = []
        for item, scored in zip(items, scores, strict=True):
            values.append({
                "id": new_id(), "customer_id": item["customer_id"], "channel": item["channel"],
                "category": item["category"], "rating": item["rating"], "nps_score": item["nps_score"],
                "text": item["text"], "language": scored.language if scored else "",
                "sentiment": scored.label if scored else "", "sentiment_score": scored.score if scored else 0.0,
                "received_at": item["received_at"], "survey_id": item.get("survey_id"),
                "survey_kind": item.get("survey_kind") or "", "created_by": item["created_by"],
            })
        rows = await repository.insert_many(session, values)
        await outbox.add_events(session, source=SOURCE, tenant_id=tenant_id, aggregate="feedback", verb="created",
                                items=[(proto_data(pb.FeedbackCreated(feedback=feedback_to_proto(row))), str(row.id))
                                       for row in rows])
        return rows

    @staticmethod
    async def announce_moved(session: AsyncSession, tenant_id: uuid.UUID | str, feedback_ids: list[uuid.UUID]) -> None:
        """Emits `crm.feedback.moved` for feedback a merge (or its undo) re-pointed, so reporting
        counts it under the customer that holds it now (the satisfaction panels)."""
        if not feedback_ids:
            return
        rows = await repository.get_many(session, feedback_ids)
        await outbox.add_events(session, source=SOURCE, tenant_id=tenant_id, aggregate="feedback", verb="moved",
                                items=[(proto_data(pb.FeedbackMoved(feedback=feedback_to_proto(row))), str(row.id))
                                       for row in rows])

    async def get(self, session: AsyncSession, caller: Principal, feedback_id: str) -> sa.Row[Any]:
        return await visible_row(session, self.access, caller, feedback_id, "id",
                                 lambda parsed: repository.get(session, parsed), "feedback")

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
