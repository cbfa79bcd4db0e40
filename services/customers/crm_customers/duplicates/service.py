"""Scans and duplicate groups: start a scan (a job), read its progress, list groups in the
caller's data scope, dismiss a group (its pairs are never grouped again)."""

from __future__ import annotations

import uuid
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer import access
from crm_customers.duplicates import check, repository
from crm_customers.duplicates.scan import SCAN_JOB
from crm_platform import jobs
from crm_platform.auth import Principal
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id, parse_uuid
from crm_platform.pagination import PageTokens, page_size

GROUP_STATUSES: Final = ("open", "dismissed", "merged")
MAX_SCANS: Final = 50
# A scan is one long job; its attempts resume at the last finished phase.
SCAN_ATTEMPTS: Final = 3


class DuplicateService:
    def __init__(self, page_tokens: PageTokens):
        self.page_tokens = page_tokens

    # -- scans ---------------------------------------------------------------------------------

    async def start_scan(self, session: AsyncSession, caller: Principal) -> sa.Row[Any]:
        running = await repository.active_scan(session)
        if running is not None:
            return running
        scan_id = new_id()
        row = await repository.insert_scan(session, scan_id, caller.actor)
        await jobs.enqueue(session, SCAN_JOB, {"tenant_id": str(caller.tenant_id), "scan_id": str(scan_id)},
                           tenant_id=caller.tenant_id, max_attempts=SCAN_ATTEMPTS, dedupe_key=f"dupscan:{scan_id}")
        return row

    async def get_scan(self, session: AsyncSession, scan_id: str) -> sa.Row[Any]:
        row = await repository.get_scan(session, parse_uuid(scan_id, "scan"))
        if row is None:
            raise NotFound("scan not found")
        return row

    async def list_scans(self, session: AsyncSession, size: int) -> list[sa.Row[Any]]:
        if size < 0:
            raise InvalidInput([FieldError("page_size", "out_of_range", "page_size must not be negative")])
        return await repository.recent_scans(session, min(size or 10, MAX_SCANS))

    # -- groups --------------------------------------------------------------------------------

    async def list_groups(
        self, session: AsyncSession, caller: Principal, *, size: int, token: str, status: str
    ) -> tuple[list[sa.Row[Any]], dict[uuid.UUID, list[sa.Row[Any]]], str]:
        status = status or "open"
        if status not in GROUP_STATUSES:
            raise InvalidInput([FieldError("status", "invalid_choice",
                                           f"status must be one of {', '.join(GROUP_STATUSES)}")])
        limit = page_size(size)
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("s") != status or "c" not in cursor:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = (float(cursor["c"]), uuid.UUID(cursor["i"]))
        scope = access.scope_clause(caller)
        rows = await repository.list_groups(session, status=status, scope=scope, limit=limit + 1, after=after)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"s": status, "c": last.confidence, "i": str(last.id)})
        rows = rows[:limit]
        return rows, await self._members(session, caller, [r.id for r in rows]), next_token

    async def get_group(
        self, session: AsyncSession, caller: Principal, group_id: str
    ) -> tuple[sa.Row[Any], list[sa.Row[Any]]]:
        row = await repository.get_group(session, parse_uuid(group_id, "group"), access.scope_clause(caller))
        if row is None:
            raise NotFound("duplicate group not found")
        return row, (await self._members(session, caller, [row.id])).get(row.id, [])

    async def _members(
        self, session: AsyncSession, caller: Principal, group_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[sa.Row[Any]]]:
        """Every member row per group (visible or not: the servicer counts the hidden ones)."""
        found: dict[uuid.UUID, list[sa.Row[Any]]] = {g: [] for g in group_ids}
        for row in await repository.members_of(session, group_ids):
            found[row.group_id].append(row)
        return found

    async def possible_duplicates(
        self, session: AsyncSession, caller: Principal, customer_id: str
    ) -> list[check.PossibleDuplicate]:
        """What the check on write would report for this customer now (never itself)."""
        row = await repository.get_live(session, parse_uuid(customer_id, "customer"), access.scope_clause(caller))
        if row is None:
            raise NotFound("customer not found")
        return await check.find(session, caller, dict(row._mapping), exclude=row.id)

    async def visible(self, session: AsyncSession, caller: Principal, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        return await repository.visible_ids(session, ids, access.scope_clause(caller))

    async def dismiss(
        self, session: AsyncSession, caller: Principal, group_id: str
    ) -> tuple[sa.Row[Any], list[sa.Row[Any]]]:
        row, _members = await self.get_group(session, caller, group_id)
        if row.status != "open":
            raise Conflict(f"the group is {row.status}, not open", code="group_not_open")
        ids = sorted(await repository.member_ids(session, row.id))
        await repository.add_dismissals(session, [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]],
                                        caller.actor)
        await repository.set_group_status(session, row.id, "dismissed", caller.actor)
        return await self.get_group(session, caller, group_id)
