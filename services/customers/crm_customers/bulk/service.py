"""Mass changes of owner or status (crm_customers/bulk/).

Starting one validates the filter exactly as the customer list does (by running the list once) and
the change (owner inside the caller's data scope, as a single update checks; a status with a
reason), stores the caller's access with it and queues a `customers.bulk_change` job. The job
(`BulkChangeRunner`) acts as that principal: it snapshots the matching customer ids (the list
again, within the principal's data scope) and then changes them in batches through the single
update path (`CustomerService.update` / `.change_status`), so every change has its event, history
and timeline entry. Each batch commits together with the items' outcomes and the cursor, so a job
that dies mid-batch redoes only that batch, whose changes were rolled back with it: no customer is
changed twice."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa
from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_customers.bulk import repository
from crm_customers.customer import access
from crm_customers.customer.cleaning import STATUSES, clean_text
from crm_customers.customer.service import MAX_REASON, CustomerService
from crm_customers.customer.servicer import list_filters
from crm_platform import jobs, telemetry
from crm_platform.access import can_write_field
from crm_platform.auth import Principal, Scope, principal_from, principal_json
from crm_platform.db import tenant_session
from crm_platform.errors import DomainError, FieldError, InvalidInput, NotFound, PreconditionFailed
from crm_platform.ids import new_id, parse_uuid
from crm_platform.pagination import PageTokens, page_size
from crm_proto.crm.customers.v1 import bulk_changes_pb2 as bulk_pb
from crm_proto.crm.customers.v1 import customers_pb2 as pb

log = logging.getLogger(__name__)

JOB_KIND: Final = "customers.bulk_change"
BATCH_SIZE: Final = 50
SNAPSHOT_PAGE: Final = 500
QUEUED, RUNNING, CANCELLING = "queued", "running", "cancelling"
SUCCEEDED, CANCELLED = "succeeded", "cancelled"
FINISHED: Final = frozenset({SUCCEEDED, CANCELLED})
CHANGED, UNCHANGED, FAILED = "changed", "unchanged", "failed"
SNAPSHOT_ORDER: Final = "created_at asc"
COUNT_LIMIT: Final = 10_000


def filter_request(data: Mapping[str, Any]) -> pb.ListCustomersRequest:
    return json_format.ParseDict(dict(data), pb.ListCustomersRequest())


def _prefixed(error: InvalidInput, prefix: str) -> list[FieldError]:
    return [FieldError(f"{prefix}{e.field}", e.code, e.message) for e in error.errors]


class BulkChangeService:
    def __init__(self, page_tokens: PageTokens, customers: CustomerService):
        self.page_tokens = page_tokens
        self.customers = customers

    async def _check_filter(self, session: AsyncSession, caller: Principal, request: pb.ListCustomersRequest,
                            errors: list[FieldError]) -> None:
        """The list's own validation (unknown custom fields, bad dates, hidden fields, ...)."""
        try:
            async with session.begin_nested():
                await self.customers.list(session, caller=caller, size=1, token="", order_by=SNAPSHOT_ORDER,
                                          query=list_filters(request))
        except InvalidInput as exc:
            errors += _prefixed(exc, "filter.")

    async def _check_changes(self, session: AsyncSession, caller: Principal, owner_id: str, status: str,
                             reason: str, errors: list[FieldError]) -> dict[str, str]:
        if owner_id and status:
            errors.append(FieldError("set", "one_change", "set either owner_id, or status with a reason"))
            return {}
        if owner_id:
            try:
                owner = uuid.UUID(owner_id)
            except ValueError:
                errors.append(FieldError("set.owner_id", "invalid_id", "owner_id is not a valid id"))
                return {}
            if not can_write_field(caller, "owner_id"):
                errors.append(FieldError("set.owner_id", "field_read_only", "your role may not change this field"))
                return {}
            owner_errors: list[FieldError] = []
            await access.check_owner(session, caller, owner, owner_errors)
            errors += [FieldError(f"set.{e.field}", e.code, e.message) for e in owner_errors]
            return {"owner_id": str(owner)}
        if status:
            if status not in STATUSES:
                errors.append(FieldError("set.status", "invalid_choice",
                                         f"status must be one of {', '.join(STATUSES)}"))
            if not reason:
                errors.append(FieldError("set.reason", "required", "a status change needs a reason"))
            elif len(reason) > MAX_REASON:
                errors.append(FieldError("set.reason", "too_long", f"at most {MAX_REASON} characters"))
            return {"status": status, "reason": reason}
        errors.append(FieldError("set", "required", "set owner_id, or status with a reason"))
        return {}

    async def start(self, session: AsyncSession, caller: Principal, request: pb.ListCustomersRequest,
                    changes: bulk_pb.BulkChangeSet) -> sa.Row[Any]:
        errors: list[FieldError] = []
        wanted = await self._check_changes(session, caller, clean_text(changes.owner_id),
                                           clean_text(changes.status), clean_text(changes.reason), errors)
        filter_only = pb.ListCustomersRequest()
        filter_only.CopyFrom(request)
        filter_only.ClearField("page_size")
        filter_only.ClearField("page_token")
        filter_only.ClearField("order_by")
        await self._check_filter(session, caller, filter_only, errors)
        if errors:
            raise InvalidInput(errors)
        row = await repository.insert(session, {
            "id": new_id(), "status": QUEUED,
            "filter": json_format.MessageToDict(filter_only, preserving_proto_field_name=True),
            "changes": wanted, "principal": principal_json(caller), "created_by": caller.actor,
        })
        job_id = await jobs.enqueue(session, JOB_KIND, {"bulk_change_id": str(row.id)},
                                    tenant_id=caller.tenant_id, max_attempts=10)
        return await repository.update(session, row.id, {"job_id": job_id})

    async def count(self, session: AsyncSession, caller: Principal,
                    request: pb.ListCustomersRequest) -> tuple[int, bool]:
        """Matching customers in the caller's scope, as the job's snapshot would take them, up to
        COUNT_LIMIT (then `more`)."""
        filters = list_filters(request)
        total, token = 0, ""
        while True:
            rows, token = await self.customers.list(session, caller=caller, size=SNAPSHOT_PAGE, token=token,
                                                    order_by=SNAPSHOT_ORDER, query=filters)
            total += len(rows)
            if not token:
                return total, False
            if total >= COUNT_LIMIT:
                return total, True

    async def get(self, session: AsyncSession, caller: Principal, bulk_id: str) -> sa.Row[Any]:
        """The caller's own mass changes; any of the tenant's with customers:admin."""
        row = await repository.get(session, parse_uuid(bulk_id, "bulk change"))
        if row is None or (row.created_by != caller.actor and Scope.CUSTOMERS_ADMIN.value not in caller.scopes):
            raise NotFound("bulk change not found")
        return row

    async def failures(self, session: AsyncSession, row: sa.Row[Any], size: int,
                       token: str) -> tuple[list[sa.Row[Any]], str]:
        limit = page_size(size)
        after = 0
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != ["bulk-failures", str(row.id)]:
                raise InvalidInput([FieldError("failures_page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = int(cursor["p"])
        items = await repository.failures(session, row.id, after, limit + 1)
        next_token = ""
        if len(items) > limit:
            next_token = self.page_tokens.encode({"q": ["bulk-failures", str(row.id)],
                                                  "p": items[limit - 1].position})
        return items[:limit], next_token

    async def cancel(self, session: AsyncSession, caller: Principal, bulk_id: str) -> sa.Row[Any]:
        """Asks the job to stop after its current batch; a finished one is returned as it is."""
        row = await self.get(session, caller, bulk_id)
        locked = await repository.get(session, row.id, lock=True)
        assert locked is not None
        if locked.status in FINISHED or locked.status == CANCELLING:
            return locked
        return await repository.update(session, row.id, {"status": CANCELLING})


def error_code(exc: DomainError) -> str:
    if isinstance(exc, InvalidInput) and exc.errors:
        return exc.errors[0].code
    return exc.code


class BulkChangeRunner:
    """Handler of `customers.bulk_change` jobs (payload: bulk_change_id; the job's tenant)."""

    def __init__(self, engine: AsyncEngine, customers: CustomerService, batch_size: int = BATCH_SIZE):
        self.engine = engine
        self.customers = customers
        self.batch_size = batch_size

    async def __call__(self, job: jobs.Job) -> dict[str, Any]:
        assert job.tenant_id is not None
        bulk_id = uuid.UUID(job.payload["bulk_change_id"])
        await self.snapshot(job.tenant_id, bulk_id)
        while not await self.step(job.tenant_id, bulk_id):
            pass
        async with tenant_session(self.engine, job.tenant_id) as session:
            row = await repository.get(session, bulk_id)
        assert row is not None
        return {"status": row.status, "total": row.total, "changed": row.changed, "failed": row.failed}

    async def snapshot(self, tenant_id: uuid.UUID, bulk_id: uuid.UUID) -> None:
        """Takes the ids of the matching customers once (a resumed job keeps the first snapshot)."""
        async with tenant_session(self.engine, tenant_id) as session:
            row = await repository.get(session, bulk_id, lock=True)
            if row is None or row.total is not None or row.status in FINISHED:
                return
            if row.status == CANCELLING:
                await repository.update(session, bulk_id, {"status": CANCELLED, "total": 0,
                                                           "finished_at": sa.func.now()})
                return
            principal = principal_from(row.principal)
            filters = list_filters(filter_request(row.filter))
            ids: list[uuid.UUID] = []
            token = ""
            while True:
                rows, token = await self.customers.list(session, caller=principal, size=SNAPSHOT_PAGE, token=token,
                                                        order_by=SNAPSHOT_ORDER, query=filters)
                ids += [r.id for r in rows]
                if not token:
                    break
            await repository.add_items(session, bulk_id, ids)
            await repository.update(session, bulk_id, {"status": RUNNING, "total": len(ids)})

    async def step(self, tenant_id: uuid.UUID, bulk_id: uuid.UUID) -> bool:
        """One batch in one transaction; True when the mass change is finished."""
        async with tenant_session(self.engine, tenant_id) as session:
            row = await repository.get(session, bulk_id, lock=True)  # one runner at a time
            if row is None or row.status in FINISHED:
                return True
            if row.status == CANCELLING:
                await repository.update(session, bulk_id, {"status": CANCELLED, "finished_at": sa.func.now()})
                return True
            items = await repository.next_items(session, bulk_id, row.cursor, self.batch_size)
            if not items:
                await repository.update(session, bulk_id, {"status": SUCCEEDED, "finished_at": sa.func.now()})
                return True
            principal = principal_from(row.principal)
            counts = {CHANGED: 0, UNCHANGED: 0, FAILED: 0}
            for item in items:
                outcome, code = await self.apply_one(session, principal, row.changes, item.customer_id)
                counts[outcome] += 1
                await repository.set_outcome(session, bulk_id, item.position, outcome, code)
            await repository.update(session, bulk_id, {
                "cursor": items[-1].position, "processed": row.processed + len(items),
                "changed": row.changed + counts[CHANGED], "unchanged": row.unchanged + counts[UNCHANGED],
                "failed": row.failed + counts[FAILED],
            })
        return False

    async def apply_one(self, session: AsyncSession, principal: Principal, changes: Mapping[str, str],
                        customer_id: uuid.UUID) -> tuple[str, str]:
        """One customer through the single-update path, in a savepoint: (outcome, error code)."""
        for attempt in range(2):
            try:
                async with session.begin_nested():
                    current = await self.customers.get(session, str(customer_id), caller=principal)
                    if "owner_id" in changes:
                        if str(current.owner_id) == changes["owner_id"]:
                            return UNCHANGED, ""
                        await self.customers.update(session, principal, str(customer_id),
                                                    {"owner_id": changes["owner_id"]}, current.version)
                    else:
                        if current.status == changes["status"]:
                            return UNCHANGED, ""
                        await self.customers.change_status(session, principal, str(customer_id), changes["status"],
                                                           changes["reason"], current.version)
                return CHANGED, ""
            except PreconditionFailed as exc:  # changed by someone else meanwhile: read it again once
                if attempt == 1:
                    return FAILED, error_code(exc)
            except DomainError as exc:
                log.info("bulk change skipped a customer", extra=telemetry.log_fields(
                    customer_id=str(customer_id), code=error_code(exc)))
                return FAILED, error_code(exc)
        return FAILED, "stale_version"
