"""Follow-up task rules: clean input, data scope, one task per causing event, the task events.

Data scope (docs/access.md, "Enforcement"): every read and write of a task applies the caller's
scope on the task's customer (crm_followups/access.py); a task whose customer the caller may not
see is answered like a missing one (NotFound), and creating a task names a customer the caller
must see in this tenant (NotFound otherwise, never a task). Tasks made by cadence rules act for
nobody: their customer comes from the tenant's own `tag.applied` event."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.task import repository
from crm_followups.task.schemas import task_to_proto
from crm_followups.task.tables import tasks
from crm_platform import outbox
from crm_platform.auth import Principal
from crm_platform.customer_scope import CustomerAccess
from crm_platform.erasure import is_erased
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.events import proto_data
from crm_platform.ids import new_id
from crm_platform.pagination import PageTokens, page_size
from crm_proto.crm.events.v1 import events_pb2

SOURCE = "crm/followups"
MAX_TITLE = 200
OPEN = "open"


def clean_title(value: str, errors: list[FieldError]) -> str:
    """Trimmed, full-width folded to half-width (NFKC); `required` / `too_long` otherwise."""
    title = unicodedata.normalize("NFKC", value).strip()
    if not title:
        errors.append(FieldError("title", "required", "title is required"))
    elif len(title) > MAX_TITLE:
        errors.append(FieldError("title", "too_long", f"at most {MAX_TITLE} characters"))
    return title


def parse_id(value: str, field: str, errors: list[FieldError], *, required: bool) -> uuid.UUID | None:
    """An id from a request field: `required` when blank (if required), `invalid_id` when malformed."""
    if not value.strip():
        if required:
            errors.append(FieldError(field, "required", f"{field} is required"))
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        errors.append(FieldError(field, "invalid_id", f"{field} is not a valid id"))
        return None


class TaskService:
    def __init__(self, page_tokens: PageTokens, access: CustomerAccess):
        self.page_tokens = page_tokens
        self.access = access

    async def create(self, session: AsyncSession, caller: Principal, *, customer_id: str, title: str,
                     due_at: datetime | None, assignee_id: str) -> sa.Row[Any]:
        """A task on a customer the caller may see (NotFound otherwise), created by the caller's
        actor (user id, or "client:<id>" for an API client)."""
        tenant_id = caller.tenant_id
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=True)
        values = {
            "customer_id": customer,
            "title": clean_title(title, errors),
            "assignee_id": parse_id(assignee_id, "assignee_id", errors, required=False),
            "due_at": due_at,
            "created_by": caller.actor,
        }
        if due_at is None:
            errors.append(FieldError("due_at", "required", "due_at is required"))
        if customer is not None and await is_erased(session, tenant_id, customer):
            errors.append(FieldError("customer_id", "customer_erased", "this customer was permanently erased"))
        if errors:
            raise InvalidInput(errors)
        assert customer is not None
        await self.access.require_visible(session, caller, customer)
        row = await repository.insert(session, {**values, "id": new_id(), "status": OPEN})
        await self._announce(session, tenant_id, row)
        return row

    async def create_for_event(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                               title: str, due_at: datetime, cadence_rule_id: uuid.UUID,
                               source_event_id: str) -> sa.Row[Any] | None:
        """A task a cadence rule made for an event; None (and no event) if that event already made it,
        or if the customer has been erased since (crm_platform/erasure.py)."""
        if await is_erased(session, tenant_id, customer_id):
            return None
        row = await repository.insert_once_per_event(session, {
            "id": new_id(), "customer_id": customer_id, "title": title, "due_at": due_at, "status": OPEN,
            "cadence_rule_id": cadence_rule_id, "source_event_id": source_event_id,
        })
        if row is not None:
            await self._announce(session, tenant_id, row)
        return row

    async def get(self, session: AsyncSession, caller: Principal, task_id: str, *,
                  lock: bool = False) -> sa.Row[Any]:
        """The task if it exists and its customer is in the caller's data scope; NotFound
        otherwise (the same answer for both, so nobody learns that it exists). A malformed id is
        a field error on `id`."""
        errors: list[FieldError] = []
        parsed = parse_id(task_id, "id", errors, required=True)
        if parsed is None:
            raise InvalidInput(errors)
        row = await repository.get(session, parsed, lock=lock)
        if row is None:
            raise NotFound("follow-up task not found")
        try:
            await self.access.require_visible(session, caller, row.customer_id)
        except NotFound:
            raise NotFound("follow-up task not found") from None
        return row

    async def complete(self, session: AsyncSession, caller: Principal, task_id: str) -> sa.Row[Any]:
        """Marks the task done and emits `followup_task.completed` in the same transaction; a task
        already done is returned as it is, without a second event. Outside the caller's data
        scope: NotFound."""
        current = await self.get(session, caller, task_id, lock=True)
        row = await repository.complete_if_open(session, current.id)
        if row is None:
            return current
        completed = events_pb2.FollowupTaskCompleted(task=task_to_proto(row), completed_by=caller.actor)
        await outbox.add_event(session, source=SOURCE, tenant_id=caller.tenant_id, aggregate="followup_task",
                               verb="completed", data=proto_data(completed), subject_id=str(row.id))
        return row

    async def _announce(self, session: AsyncSession, tenant_id: uuid.UUID | str, row: sa.Row[Any]) -> None:
        """followup_task.created, in the same transaction as the task row."""
        created = events_pb2.FollowupTaskCreated(task=task_to_proto(row))
        await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="followup_task",
                               verb="created", data=proto_data(created), subject_id=str(row.id))

    async def list_page(self, session: AsyncSession, caller: Principal, *, customer_id: str, size: int,
                        token: str) -> tuple[list[sa.Row[Any]], str]:
        """Tasks whose customer is in the caller's data scope, soonest due first."""
        limit = page_size(size)
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=False)
        if errors:
            raise InvalidInput(errors)
        query_key = ["tasks", str(customer or "")]
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != query_key:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = (datetime.fromisoformat(cursor["d"]), uuid.UUID(cursor["i"]))
        scope = await self.access.scope(session, caller)
        rows = await repository.list_page(session, customer_id=customer, limit=limit + 1, after=after,
                                          visible=self.access.condition(tasks.c.customer_id, scope))
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"q": query_key, "d": last.due_at.isoformat(), "i": str(last.id)})
        return rows[:limit], next_token
