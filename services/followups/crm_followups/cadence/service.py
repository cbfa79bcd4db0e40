"""Cadence rules: "when tag X is applied to a customer, a task is due within N days".

The tag id is checked for form only: tags live in the tagging service, and followups does not
read other services' data (a rule for a tag that does not exist simply never fires)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.cadence import repository
from crm_followups.task.service import TaskService, clean_title, parse_id
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id

MIN_DAYS, MAX_DAYS = 1, 365


class CadenceService:
    def __init__(self, tasks: TaskService):
        self.tasks = tasks

    async def create_rule(self, session: AsyncSession, *, tag_id: str, due_in_days: int,
                          title: str) -> sa.Row[Any]:
        errors: list[FieldError] = []
        values = {
            "tag_id": parse_id(tag_id, "tag_id", errors, required=True),
            "due_in_days": due_in_days,
            "title": clean_title(title, errors),
        }
        if not MIN_DAYS <= due_in_days <= MAX_DAYS:
            errors.append(FieldError("due_in_days", "out_of_range",
                                     f"due_in_days must be between {MIN_DAYS} and {MAX_DAYS}"))
        if errors:
            raise InvalidInput(errors)
        return await repository.insert(session, {**values, "id": new_id()})

    async def list_rules(self, session: AsyncSession) -> list[sa.Row[Any]]:
        return await repository.list_all(session)

    async def tag_applied(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                          tag_id: uuid.UUID, applied_at: datetime, event_id: str) -> list[sa.Row[Any]]:
        """One task per cadence rule of the tag, due N days after the tag was applied; returns the
        tasks created now (none when this event was already handled)."""
        created = []
        for rule in await repository.for_tag(session, tag_id):
            task = await self.tasks.create_for_event(
                session, tenant_id, customer_id=customer_id, title=rule.title,
                due_at=applied_at + timedelta(days=rule.due_in_days), cadence_rule_id=rule.id,
                source_event_id=event_id,
            )
            if task is not None:
                created.append(task)
        return created
