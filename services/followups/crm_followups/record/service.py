"""Follow-up records (the platform guide's table 2): what happened with a customer, when, how,
with what result and what comes next.

Creating a record is one transaction: the record (numbered from the tenant's pattern), the task it
completes (`task_id`: completing a task means logging its record), the next task when it names a
next follow-up time, and their events (`followup_record.created`, `followup_task.completed`,
`followup_task.created`). Data scope is the customer's, as for tasks (crm_followups/access.py):
records of customers outside the caller's scope are answered like missing ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups import users
from crm_followups.record import dictionaries, numbering, repository
from crm_followups.record.schemas import record_to_proto
from crm_followups.record.tables import records
from crm_followups.task.service import MAX_TITLE, SOURCE, TaskService, clean_content, parse_id, visible_row
from crm_platform import outbox
from crm_platform.auth import Principal, Scope
from crm_platform.erasure import is_erased
from crm_platform.errors import FieldError, InvalidInput, PermissionDenied
from crm_platform.events import proto_data
from crm_platform.ids import new_id
from crm_platform.pagination import page_size
from crm_proto.crm.events.v1 import events_pb2

# A record tells what happened: a time further ahead than this is a typo, not a follow-up.
FUTURE_SLACK: Final = timedelta(minutes=5)


class RecordService:
    def __init__(self, tasks: TaskService):
        self.tasks = tasks
        self.access = tasks.access
        self.page_tokens = tasks.page_tokens

    async def create(self, session: AsyncSession, caller: Principal, *, customer_id: str,
                     followed_at: datetime | None, method: str, content: str, result: str,
                     next_followup_at: datetime | None, next_method: str, next_action: str, next_assignee_id: str,
                     task_id: str, followed_by: str) -> sa.Row[Any]:
        now = datetime.now(UTC)
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=True)
        methods = await dictionaries.load(session, "method")
        results = await dictionaries.load(session, "result")
        method_code = dictionaries.clean_code(methods, method, "method", errors, required=True)
        result_code = dictionaries.clean_code(results, result, "result", errors, required=True)
        text = clean_content(content, "content", errors, required=True)
        at = followed_at or now
        if at > now + FUTURE_SLACK:
            errors.append(FieldError("followed_at", "in_future", "a record tells what happened: not in the future"))
        follower = await self._follower(session, caller, followed_by, errors)
        next_values: dict[str, Any] | None = None
        if next_followup_at is not None:
            if next_followup_at <= at:
                errors.append(FieldError("next_followup_at", "before_followed_at",
                                         "the next follow-up comes after this one"))
            action = " ".join(next_action.split())
            if len(action) > MAX_TITLE:
                errors.append(FieldError("next_action", "too_long", f"at most {MAX_TITLE} characters"))
            assignee = (await users.clean_user(session, next_assignee_id, "next_assignee_id", errors)
                        if next_assignee_id.strip() else _user_or_none(follower))
            next_values = {
                # The next task's title: what to do, else the first line of what was said.
                "title": action or (text.splitlines()[0].strip()[:MAX_TITLE] if text else "") or "-",
                "due_at": next_followup_at, "assignee_id": assignee, "created_by": caller.actor,
                "method": dictionaries.clean_code(methods, next_method, "next_method", errors, required=False)
                or method_code,
                "content": action,
            }
        elif next_method.strip() or next_action.strip() or next_assignee_id.strip():
            errors.append(FieldError("next_followup_at", "required", "the next follow-up needs a time"))
        if customer is not None and await is_erased(session, caller.tenant_id, customer):
            errors.append(FieldError("customer_id", "customer_erased", "this customer was permanently erased"))
        if errors:
            raise InvalidInput(errors)
        assert customer is not None
        await self.access.require_visible(session, caller, customer)
        task = None
        if task_id.strip():
            task = await self.tasks.get(session, caller, task_id, lock=True, field="task_id")
            if task.customer_id != customer:
                raise InvalidInput([FieldError("task_id", "other_customer", "the task is about another customer")])
            if task.status != "open":
                raise InvalidInput([FieldError("task_id", "task_done", "the task is done already")])
        record_id = new_id()
        row = await repository.insert(session, {
            "id": record_id, "number": await numbering.next_number(session, now.date()), "customer_id": customer,
            "followed_at": at, "method": method_code, "content": text, "result": result_code,
            "next_followup_at": next_followup_at, "followed_by": follower, "task_id": task.id if task else None,
            "created_by": caller.actor,
        })
        if task is not None:
            await self.tasks.mark_done(session, caller, task, record_id=record_id, at=at)
        if next_values is not None:
            next_task = await self.tasks.insert(session, caller.tenant_id, {
                **next_values, "customer_id": customer, "source_record_id": record_id})
            row = await repository.set_next_task(session, record_id, next_task.id)
        method_entry, result_entry = methods.get(method_code), results.get(result_code)
        assert method_entry is not None and result_entry is not None
        created = events_pb2.FollowupRecordCreated(
            record=record_to_proto(row), method_en=method_entry.label_en, method_zh=method_entry.label_zh,
            result_en=result_entry.label_en, result_zh=result_entry.label_zh)
        await outbox.add_event(session, source=SOURCE, tenant_id=caller.tenant_id, aggregate="followup_record",
                               verb="created", data=proto_data(created), subject_id=str(record_id))
        return row

    async def _follower(self, session: AsyncSession, caller: Principal, followed_by: str,
                        errors: list[FieldError]) -> str:
        """The caller by default; naming another user (a manager logging a rep's visit) needs
        `followups:manage`."""
        if not followed_by.strip() or (caller.user_id is not None and followed_by.strip() == str(caller.user_id)):
            return caller.actor
        if Scope.FOLLOWUPS_MANAGE.value not in caller.scopes:
            raise PermissionDenied("logging a follow-up for another user needs followups:manage",
                                   extra={"missing_scopes": [Scope.FOLLOWUPS_MANAGE.value]})
        user = await users.clean_user(session, followed_by, "followed_by", errors)
        return str(user) if user else ""

    async def get(self, session: AsyncSession, caller: Principal, record_id: str) -> sa.Row[Any]:
        return await visible_row(session, self.access, caller, record_id, "id",
                                 lambda parsed: repository.get(session, parsed), "follow-up record")

    async def list_page(self, session: AsyncSession, caller: Principal, *, customer_id: str, followed_by: str,
                        since: datetime | None, until: datetime | None, size: int,
                        token: str) -> tuple[list[sa.Row[Any]], str]:
        """Records of customers in the caller's data scope, newest first; `followed_by` "me" is
        the caller."""
        limit = page_size(size)
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=False)
        follower = followed_by.strip()
        if follower.lower() == "me":
            follower = caller.actor
        elif follower and not follower.startswith("client:"):
            parsed = parse_id(follower, "followed_by", errors, required=False)
            follower = str(parsed) if parsed else ""
        if since is not None and until is not None and until < since:
            errors.append(FieldError("until", "out_of_range", "until is before since"))
        if errors:
            raise InvalidInput(errors)
        query_key = ["records", str(customer or ""), follower, since.isoformat() if since else "",
                     until.isoformat() if until else ""]
        before = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != query_key:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            before = (datetime.fromisoformat(cursor["d"]), uuid.UUID(cursor["i"]))
        scope = await self.access.scope(session, caller)
        rows = await repository.list_page(session, visible=self.access.condition(records.c.customer_id, scope),
                                          limit=limit + 1, customer_id=customer, followed_by=follower, since=since,
                                          until=until, before=before)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"q": query_key, "d": last.followed_at.isoformat(),
                                                  "i": str(last.id)})
        return rows[:limit], next_token


def _user_or_none(actor: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(actor)
    except ValueError:
        return None
