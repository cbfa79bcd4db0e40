"""Batch tagging (docs/tagging.md, "Batch tagging"): add or remove tags for many customers as a
job with progress, audited (the batch row says who asked what and what it did) and undoable (each
change it made is kept; the undo reverses exactly those, if still so).

The customers are given as ids: the gateway resolves a list filter to ids through customers (the
caller's list, up to MAX_CUSTOMERS), and tagging keeps only those in the caller's data scope
(compiled into one query over its projection), so a batch never reaches further than its caller.
The job works in chunks, one transaction each, recording how far it got (`done`): a retried job
resumes where the last one committed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import jobs
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id
from crm_tagging.autotag import repository as rule_repository
from crm_tagging.batch import repository
from crm_tagging.tag import repository as tag_repository
from crm_tagging.tag.changes import SOURCE_MANUAL, announce_applied, announce_removed
from crm_tagging.tag.service import APPLIED, TagService

BATCH_JOB = "tagging.batch"
UNDO_JOB = "tagging.batch_undo"
ACTIONS = ("add", "remove")
MAX_CUSTOMERS = 10_000
MAX_TAGS = 10
CHUNK = 200


def _parse(values: Sequence[str], field: str, errors: list[FieldError]) -> list[uuid.UUID]:
    parsed = []
    for value in values:
        try:
            parsed.append(uuid.UUID(value.strip()))
        except ValueError:
            errors.append(FieldError(field, "invalid_id", f"{value!r} is not a valid id"))
            break
    return parsed


class BatchService:
    def __init__(self, tags: TagService):
        self.tags = tags

    async def start(self, session: AsyncSession, caller: Principal, *, action: str, tag_ids: Sequence[str],
                    customer_ids: Sequence[str]) -> sa.Row[Any]:
        errors: list[FieldError] = []
        if action not in ACTIONS:
            errors.append(FieldError("action", "invalid_choice", "action must be add or remove"))
        if not tag_ids or len(tag_ids) > MAX_TAGS:
            errors.append(FieldError("tag_ids", "out_of_range", f"1 to {MAX_TAGS} tags"))
        if not customer_ids or len(customer_ids) > MAX_CUSTOMERS:
            errors.append(FieldError("customer_ids", "out_of_range", f"1 to {MAX_CUSTOMERS} customers"))
        tags = _parse(tag_ids, "tag_ids", errors)
        customers = _parse(customer_ids, "customer_ids", errors)
        if not errors:
            known = {row.id: row for row in await tag_repository.tags_with_ids(session, tags)}
            for tag_id in tags:
                if tag_id not in known:
                    errors.append(FieldError("tag_ids", "unknown_tag", f"no tag {tag_id}"))
                elif action == "add" and known[tag_id].archived_at is not None:
                    errors.append(FieldError("tag_ids", "tag_archived", f"tag {tag_id} is archived"))
        if errors:
            raise InvalidInput(errors)
        visible = await self.tags.visible(session, caller)
        allowed = await repository.visible_ids(session, customers, visible)
        batch_id = new_id()
        job_id = await jobs.enqueue(session, BATCH_JOB, {"batch_id": str(batch_id)}, tenant_id=caller.tenant_id)
        await repository.insert_batch(session, {
            "id": batch_id, "action": action, "tag_ids": list(dict.fromkeys(tags)), "customer_ids": allowed,
            "actor": caller.actor, "status": "running", "skipped": len(set(customers)) - len(allowed),
            "job_id": job_id,
        })
        return await self.get(session, str(batch_id))

    async def get(self, session: AsyncSession, batch_id: str) -> sa.Row[Any]:
        try:
            parsed = uuid.UUID(batch_id)
        except ValueError:
            raise NotFound("no tag batch with this id") from None
        row = await repository.get_batch(session, parsed)
        if row is None:
            raise NotFound("no tag batch with this id")
        return row

    async def undo(self, session: AsyncSession, caller: Principal, batch_id: str) -> sa.Row[Any]:
        row = await self.get(session, batch_id)
        locked = await repository.get_batch(session, row.id, lock=True)
        assert locked is not None
        if locked.status != "succeeded":
            raise Conflict("only a finished batch that was not undone can be undone", code="batch_not_undoable",
                           extra={"status": locked.status})
        job_id = await jobs.enqueue(session, UNDO_JOB, {"batch_id": str(row.id)}, tenant_id=caller.tenant_id)
        await repository.update_batch(session, row.id, {"status": "undoing", "undone_by": caller.actor,
                                                        "job_id": job_id})
        return await self.get(session, batch_id)

    # -- the jobs ----------------------------------------------------------------------------------

    async def _apply_chunk(self, session: AsyncSession, tenant_id: uuid.UUID, batch: sa.Row[Any],
                           customers: Sequence[uuid.UUID]) -> tuple[int, int, int]:
        applied = removed = skipped = 0
        names = {row.id: row.name for row in await tag_repository.tags_with_ids(session, list(batch.tag_ids))}
        changes: list[dict[str, Any]] = []
        for customer in customers:
            for tag_id in batch.tag_ids:
                if tag_id not in names:
                    skipped += 1  # deleted since
                    continue
                if batch.action == "add":
                    outcome = await self.tags.apply_checked(session, tenant_id, customer_id=customer, tag_id=tag_id,
                                                            source=SOURCE_MANUAL, actor=batch.actor)
                    if outcome == APPLIED:
                        applied += 1
                        changes.append({"batch_id": batch.id, "customer_id": customer, "tag_id": tag_id,
                                        "change": "applied"})
                    elif outcome != "already":
                        skipped += 1
                    continue
                carried = await tag_repository.get_customer_tag(session, customer, tag_id)
                if carried is None or not await tag_repository.delete_customer_tag(session, customer, tag_id):
                    continue
                await announce_removed(session, tenant_id, customer_id=customer, tag_id=tag_id,
                                       tag_name=names[tag_id], source=SOURCE_MANUAL, actor=batch.actor)
                removed += 1
                changes.append({"batch_id": batch.id, "customer_id": customer, "tag_id": tag_id, "change": "removed",
                                "source": carried.source, "rule_id": carried.rule_id,
                                "applied_by": carried.applied_by})
        await repository.record_changes(session, changes)
        return applied, removed, skipped

    def runner(self, engine: AsyncEngine) -> jobs.JobHandler:
        async def run(job: jobs.Job) -> dict[str, Any]:
            assert job.tenant_id is not None
            batch_id = uuid.UUID(job.payload["batch_id"])
            while True:
                async with tenant_session(engine, job.tenant_id) as session:
                    batch = await repository.get_batch(session, batch_id, lock=True)
                    if batch is None:
                        return {"missing": True}
                    total = len(batch.customer_ids)
                    chunk = batch.customer_ids[batch.done:batch.done + CHUNK]
                    if not chunk:
                        await repository.update_batch(session, batch_id, {"status": "succeeded",
                                                                          "finished_at": sa.func.now()})
                        result = {"applied": batch.applied, "removed": batch.removed, "skipped": batch.skipped}
                        break
                    applied, removed, skipped = await self._apply_chunk(session, job.tenant_id, batch, chunk)
                    await repository.update_batch(session, batch_id, {
                        "done": batch.done + len(chunk), "applied": batch.applied + applied,
                        "removed": batch.removed + removed, "skipped": batch.skipped + skipped})
                await jobs.report_progress(engine, job.id, batch.done + len(chunk), total)
            await jobs.report_progress(engine, job.id, total, total)
            return result

        return run

    def undo_runner(self, engine: AsyncEngine) -> jobs.JobHandler:
        async def run(job: jobs.Job) -> dict[str, Any]:
            assert job.tenant_id is not None
            batch_id = uuid.UUID(job.payload["batch_id"])
            reversed_count = 0
            async with tenant_session(engine, job.tenant_id) as session:
                batch = await repository.get_batch(session, batch_id, lock=True)
                if batch is None or batch.status != "undoing":
                    return {"reversed": 0}
                names = {row.id: row.name for row in await tag_repository.tags_with_ids(session, list(batch.tag_ids))}
                rules = await rule_repository.existing_rule_ids(session)
                after: tuple[uuid.UUID, uuid.UUID] | None = None
                while True:
                    page = await repository.changes_page(session, batch_id, after=after, limit=1000)
                    if not page:
                        break
                    after = (page[-1].customer_id, page[-1].tag_id)
                    for change in page:
                        if change.tag_id not in names:
                            continue
                        if change.change == "applied":
                            if await tag_repository.delete_customer_tag(session, change.customer_id, change.tag_id):
                                await announce_removed(session, job.tenant_id, customer_id=change.customer_id,
                                                       tag_id=change.tag_id, tag_name=names[change.tag_id],
                                                       source=SOURCE_MANUAL, actor=batch.undone_by)
                                reversed_count += 1
                        elif await tag_repository.insert_customer_tag_if_absent(
                                session, customer_id=change.customer_id, tag_id=change.tag_id, source=change.source,
                                rule_id=change.rule_id if change.rule_id in rules else None,
                                applied_by=change.applied_by):
                            await announce_applied(session, job.tenant_id, customer_id=change.customer_id,
                                                   tag_id=change.tag_id, tag_name=names[change.tag_id],
                                                   source=change.source,
                                                   rule_id=change.rule_id if change.rule_id in rules else None,
                                                   actor=batch.undone_by)
                            reversed_count += 1
                await repository.update_batch(session, batch_id, {"status": "undone", "undone_at": sa.func.now()})
            return {"reversed": reversed_count}

        return run
