"""Follow-up task rules: clean input, data scope, one task per causing event, the task events.

Data scope (docs/access.md, "Enforcement"): every read and write of a task applies the caller's
scope on the task's customer (crm_followups/access.py); a task whose customer the caller may not
see is answered like a missing one (NotFound), and creating a task names a customer the caller
must see in this tenant (NotFound otherwise, never a task). Tasks made by cadence rules act for
nobody: their customer comes from the tenant's own `tag.applied` event."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups import users
from crm_followups.cadence.settings import schedule_escalation
from crm_followups.record import dictionaries
from crm_followups.task import repository
from crm_followups.task.schemas import task_to_proto
from crm_followups.task.tables import tasks
from crm_platform import outbox, scheduler
from crm_platform.auth import Principal
from crm_platform.customer_scope import CustomerAccess
from crm_platform.erasure import is_erased
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.events import proto_data
from crm_platform.ids import new_id
from crm_platform.pagination import PageTokens, page_size
from crm_proto.crm.events.v1 import events_pb2

SOURCE = "crm/followups"
MAX_TITLE = 200
MAX_CONTENT: Final = 10_000
OPEN = "open"
DONE = "done"
# A cadence task whose tag was removed (crm_followups/cadence/service.py).
CANCELLED: Final = "cancelled"
# The platform scheduler's kind for task reminders: one schedule at the planned time ("due") and,
# once that fired, one a day later if the task is still open ("overdue"). docs/followups.md.
DUE_KIND: Final = "followups.task_due"
OVERDUE_AFTER: Final = timedelta(days=1)


def due_key(task_id: uuid.UUID) -> str:
    return f"task:{task_id}"


def overdue_key(task_id: uuid.UUID) -> str:
    return f"task-overdue:{task_id}"


def clean_content(value: str, field: str, errors: list[FieldError], *, required: bool) -> str:
    """Long text, trimmed; `required` / `too_long`."""
    text = unicodedata.normalize("NFC", value).strip()
    if not text and required:
        errors.append(FieldError(field, "required", f"{field} is required"))
    elif len(text) > MAX_CONTENT:
        errors.append(FieldError(field, "too_long", f"at most {MAX_CONTENT} characters"))
    return text


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


async def visible_row(session: AsyncSession, access: CustomerAccess, caller: Principal, raw_id: str, field: str,
                      fetch: Callable[[uuid.UUID], Awaitable[sa.Row[Any] | None]], noun: str) -> sa.Row[Any]:
    """The row `fetch` finds for the id in `raw_id` if its customer is in the caller's data scope;
    NotFound ("<noun> not found") when it does not exist or lies outside the scope, the same answer
    for both so nobody learns that it exists. A malformed id is a field error on `field`."""
    errors: list[FieldError] = []
    parsed = parse_id(raw_id, field, errors, required=True)
    if parsed is None:
        raise InvalidInput(errors)
    row = await fetch(parsed)
    if row is None:
        raise NotFound(f"{noun} not found")
    try:
        await access.require_visible(session, caller, row.customer_id)
    except NotFound:
        raise NotFound(f"{noun} not found") from None
    return row


class TaskService:
    def __init__(self, page_tokens: PageTokens, access: CustomerAccess):
        self.page_tokens = page_tokens
        self.access = access

    async def create(self, session: AsyncSession, caller: Principal, *, customer_id: str, title: str,
                     due_at: datetime | None, assignee_id: str, method: str = "", content: str = "") -> sa.Row[Any]:
        """A task on a customer the caller may see (NotFound otherwise), created by the caller's
        actor (user id, or "client:<id>" for an API client). The assignee must be a user of the
        tenant (400 `unknown_user`); the method a code of the tenant's method dictionary."""
        tenant_id = caller.tenant_id
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=True)
        methods = await dictionaries.load(session, "method")
        values = {
            "customer_id": customer,
            "title": clean_title(title, errors),
            "assignee_id": await users.clean_user(session, assignee_id, "assignee_id", errors),
            "due_at": due_at,
            "created_by": caller.actor,
            "method": dictionaries.clean_code(methods, method, "method", errors, required=False),
            "content": clean_content(content, "content", errors, required=False),
        }
        if due_at is None:
            errors.append(FieldError("due_at", "required", "due_at is required"))
        if customer is not None and await is_erased(session, tenant_id, customer):
            errors.append(FieldError("customer_id", "customer_erased", "this customer was permanently erased"))
        if errors:
            raise InvalidInput(errors)
        assert customer is not None
        await self.access.require_visible(session, caller, customer)
        return await self.insert(session, tenant_id, values)

    async def insert(self, session: AsyncSession, tenant_id: uuid.UUID, values: dict[str, Any]) -> sa.Row[Any]:
        """Writes a checked open task, its reminder schedule and `followup_task.created`."""
        row = await repository.insert(session, {**values, "id": new_id(), "status": OPEN})
        await self._schedule_reminder(session, tenant_id, row)
        await self._announce(session, tenant_id, row)
        return row

    async def create_for_event(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                               title: str, due_at: datetime, cadence_rule_id: uuid.UUID,
                               source_event_id: str, assignee_id: uuid.UUID | None = None) -> sa.Row[Any] | None:
        """A task a cadence rule made for an event; None (and no event) if that event already made it,
        or if the customer has been erased since (crm_platform/erasure.py). `assignee_id`: the
        customer's owner (crm_followups/cadence/service.py)."""
        if await is_erased(session, tenant_id, customer_id):
            return None
        row = await repository.insert_once_per_event(session, {
            "id": new_id(), "customer_id": customer_id, "title": title, "due_at": due_at, "status": OPEN,
            "cadence_rule_id": cadence_rule_id, "source_event_id": source_event_id, "assignee_id": assignee_id,
        })
        if row is not None:
            await self._schedule_reminder(session, uuid.UUID(str(tenant_id)), row)
            await self._announce(session, tenant_id, row)
        return row

    async def get(self, session: AsyncSession, caller: Principal, task_id: str, *,
                  lock: bool = False, field: str = "id") -> sa.Row[Any]:
        """The task if it exists and its customer is in the caller's data scope; NotFound
        otherwise (the same answer for both, so nobody learns that it exists). A malformed id is
        a field error on `field`."""
        return await visible_row(session, self.access, caller, task_id, field,
                                 lambda parsed: repository.get(session, parsed, lock=lock), "follow-up task")

    async def complete(self, session: AsyncSession, caller: Principal, task_id: str) -> sa.Row[Any]:
        """Marks the task done and emits `followup_task.completed` in the same transaction; a task
        already done is returned as it is, without a second event. Outside the caller's data
        scope: NotFound."""
        current = await self.get(session, caller, task_id, lock=True)
        return await self.mark_done(session, caller, current, record_id=None, at=datetime.now(UTC)) or current

    async def mark_done(self, session: AsyncSession, caller: Principal, current: sa.Row[Any], *,
                        record_id: uuid.UUID | None, at: datetime) -> sa.Row[Any] | None:
        """Completes a checked, locked task (None if it was done already): its reminders are
        cancelled and `followup_task.completed` is emitted."""
        row = await repository.complete_if_open(session, current.id, record_id=record_id, completed_at=at)
        if row is None:
            return None
        await scheduler.cancel(session, caller.tenant_id, DUE_KIND, due_key(row.id))
        await scheduler.cancel(session, caller.tenant_id, DUE_KIND, overdue_key(row.id))
        completed = events_pb2.FollowupTaskCompleted(task=task_to_proto(row), completed_by=caller.actor)
        await outbox.add_event(session, source=SOURCE, tenant_id=caller.tenant_id, aggregate="followup_task",
                               verb="completed", data=proto_data(completed), subject_id=str(row.id))
        return row

    async def update(self, session: AsyncSession, caller: Principal, task_id: str, *, due_at: datetime | None,
                     assignee_id: str | None, content: str | None, method: str | None) -> sa.Row[Any]:
        """Reschedules (`due_at`), reassigns (`assignee_id`, "" for nobody) or rewrites an open
        task; `followup_task.updated` names the changed fields. A done task: 409 `task_done`."""
        current = await self.get(session, caller, task_id, lock=True)
        errors: list[FieldError] = []
        changes: dict[str, Any] = {}
        if due_at is not None and due_at != current.due_at:
            changes["due_at"] = due_at
        if assignee_id is not None:
            assignee = await users.clean_user(session, assignee_id, "assignee_id", errors)
            if assignee != current.assignee_id:
                changes["assignee_id"] = assignee
        if content is not None:
            text = clean_content(content, "content", errors, required=False)
            if text != current.content:
                changes["content"] = text
        if method is not None:
            code = dictionaries.clean_code(await dictionaries.load(session, "method"), method, "method", errors,
                                           required=False)
            if code != current.method:
                changes["method"] = code
        if errors:
            raise InvalidInput(errors)
        if current.status != OPEN:
            raise Conflict("this follow-up task is done", code="task_done")
        if not changes:
            return current
        row = await repository.update(session, current.id, changes)
        if "due_at" in changes or "assignee_id" in changes:
            await self._schedule_reminder(session, caller.tenant_id, row)
        updated = events_pb2.FollowupTaskUpdated(task=task_to_proto(row), actor=caller.actor,
                                                 changed_fields=sorted(changes))
        await outbox.add_event(session, source=SOURCE, tenant_id=caller.tenant_id, aggregate="followup_task",
                               verb="updated", data=proto_data(updated), subject_id=str(row.id))
        return row

    async def _schedule_reminder(self, session: AsyncSession, tenant_id: uuid.UUID, row: sa.Row[Any]) -> None:
        """The task's reminder at its planned time (replacing an earlier one), no overdue one yet;
        its escalation (its rule's days, else the tenant's: crm_followups/cadence/settings.py)
        moves with its planned time."""
        await scheduler.schedule(session, tenant_id, DUE_KIND, due_key(row.id), at=row.due_at,
                                 payload={"task_id": str(row.id), "phase": "due"})
        await scheduler.cancel(session, tenant_id, DUE_KIND, overdue_key(row.id))
        await schedule_escalation(session, tenant_id, row)

    async def _announce(self, session: AsyncSession, tenant_id: uuid.UUID | str, row: sa.Row[Any]) -> None:
        """followup_task.created, in the same transaction as the task row."""
        created = events_pb2.FollowupTaskCreated(task=task_to_proto(row))
        await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="followup_task",
                               verb="created", data=proto_data(created), subject_id=str(row.id))

    async def list_page(self, session: AsyncSession, caller: Principal, *, customer_id: str, size: int,
                        token: str, assignee_id: str = "", status: str = "", due_after: datetime | None = None,
                        due_before: datetime | None = None, overdue: bool = False) -> tuple[list[sa.Row[Any]], str]:
        """Tasks whose customer is in the caller's data scope, soonest due first, filtered by
        customer, assignee ("me" for the caller), status, due range or overdue."""
        limit = page_size(size)
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=False)
        assignee: uuid.UUID | None = None
        if assignee_id.strip().lower() == "me":
            if caller.user_id is None:
                errors.append(FieldError("assignee_id", "not_a_user", '"me" needs a user token'))
            assignee = caller.user_id
        else:
            assignee = parse_id(assignee_id, "assignee_id", errors, required=False)
        if status not in ("", OPEN, DONE, CANCELLED):
            errors.append(FieldError("status", "invalid_choice", 'status is "open", "done", "cancelled" or empty'))
        if due_after is not None and due_before is not None and due_before < due_after:
            errors.append(FieldError("due_before", "out_of_range", "due_before is before due_after"))
        if errors:
            raise InvalidInput(errors)
        query_key = ["tasks", str(customer or ""), str(assignee or ""), status,
                     due_after.isoformat() if due_after else "", due_before.isoformat() if due_before else "",
                     overdue]
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != query_key:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = (datetime.fromisoformat(cursor["d"]), uuid.UUID(cursor["i"]))
        scope = await self.access.scope(session, caller)
        rows = await repository.list_page(
            session, customer_id=customer, limit=limit + 1, after=after,
            visible=self.access.condition(tasks.c.customer_id, scope), assignee_id=assignee,
            status=OPEN if overdue else status, due_after=due_after,
            due_before=datetime.now(UTC) if overdue and (due_before is None or due_before > datetime.now(UTC))
            else due_before,
        )
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"q": query_key, "d": last.due_at.isoformat(), "i": str(last.id)})
        return rows[:limit], next_token
