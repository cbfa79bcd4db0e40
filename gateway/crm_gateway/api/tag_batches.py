"""/v1/tag-batches: add or remove tags for selected customers or every customer matching a list
filter, as a job with progress, undoable (tagging; docs/tagging.md, "Batch tagging")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_gateway.api.customer_bulk_changes import FILTERS, TAG_FILTER, filter_request
from crm_gateway.api.tags import check_tag_filter
from crm_gateway.clients import Backends, Caller
from crm_gateway.problems import Problem
from crm_platform.auth import Scope
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb

router = APIRouter(prefix="/v1/tag-batches", tags=["tags"])

# Customers one batch may reach (a filter matching more is refused: narrow it).
MAX_CUSTOMERS: Final = 10_000
PAGE: Final = 500


class TagBatchCreate(RequestBody):
    action: Literal["add", "remove"]
    tag_ids: list[str] = Field(min_length=1, max_length=10)
    customer_ids: list[str] | None = Field(None, max_length=MAX_CUSTOMERS,
                                           description="These customers; or leave out and send `filter`")
    filter: dict[str, str | bool] | None = Field(
        None, description=f"Every customer of your list matching these filters ({', '.join(FILTERS)}, "
                          f"`cf.<key>`, `tag_id`), up to {MAX_CUSTOMERS}")


class TagBatch(Resource):
    id: str
    action: str
    tag_ids: list[str]
    status: str = Field(description="running, succeeded, undoing, undone")
    total: int
    done: int
    applied: int
    removed: int
    skipped: int = Field(description="Out of your data scope, no room under the tag limit, archived or deleted")
    actor: str
    job_id: str
    created_at: datetime | None
    finished_at: datetime | None = None
    undone_at: datetime | None = None
    undone_by: str = ""


def batch_out(message: Any) -> TagBatch:
    return TagBatch(id=message.id, action=message.action, tag_ids=list(message.tag_ids), status=message.status,
                    total=message.total, done=message.done, applied=message.applied, removed=message.removed,
                    skipped=message.skipped, actor=message.actor, job_id=message.job_id,
                    created_at=timestamp(message.created_at), finished_at=timestamp(message.finished_at),
                    undone_at=timestamp(message.undone_at), undone_by=message.undone_by)


async def resolve_customers(caller: Caller, services: Backends, body: TagBatchCreate) -> list[str]:
    """The batch's customers as the caller's customer list shows them (their data scope applies):
    the given ids that exist, or every match of the filter."""
    if (body.customer_ids is None) == (body.filter is None):
        raise Problem(400, "invalid_input", params={"count": 1}, errors=[
            {"field": "customer_ids", "code": "one_of_required", "message": "send customer_ids or filter"}])
    if body.customer_ids is not None:
        found: list[str] = []
        for start in range(0, len(body.customer_ids), PAGE):
            chunk = body.customer_ids[start:start + PAGE]
            reply = await caller.call(services.customers.ListCustomers,
                                      _list(filter_request({}), page_size=PAGE, ids=chunk))
            found += [c.id for c in reply.items]
        return found
    request = filter_request(body.filter or {})
    await check_tag_filter(caller, services, list(request.tag_ids), f"filter.{TAG_FILTER}")
    ids: list[str] = []
    token = ""
    while True:
        reply = await caller.call(services.customers.ListCustomers, _list(request, page_size=PAGE, page_token=token))
        ids += [c.id for c in reply.items]
        if len(ids) > MAX_CUSTOMERS:
            raise Problem(400, "invalid_input", params={"count": 1}, errors=[
                {"field": "filter", "code": "too_many_customers", "message": f"more than {MAX_CUSTOMERS} customers"}])
        token = reply.next_page_token
        if not token:
            return ids


def _list(request: Any, **changes: Any) -> Any:
    copy = type(request)()
    copy.CopyFrom(request)
    for name, value in changes.items():
        if name == "ids":
            del copy.ids[:]
            copy.ids.extend(value)
        else:
            setattr(copy, name, value)
    return copy


@router.post(
    "",
    response_model=TagBatch,
    **operation(operation_id="createTagBatch", summary="Add or remove tags for many customers (a job)",
                scopes=[Scope.CUSTOMERS_WRITE, Scope.CUSTOMERS_READ, Scope.TAGS_READ], errors=[*WRITE_ERRORS],
                status_code=202,
                description="Runs as a job with progress (`GET` the batch); only customers in your data scope are "
                            "changed; the per-customer tag limit and exclusive groups apply. `POST /{id}:undo` "
                            "reverses exactly what it changed."),
)
async def create_tag_batch(body: TagBatchCreate, response: Response, caller: CallerDep,
                           services: BackendsDep) -> TagBatch:
    customers = await resolve_customers(caller, services, body)
    if not customers:
        raise Problem(400, "invalid_input", params={"count": 1}, errors=[
            {"field": "customer_ids" if body.customer_ids is not None else "filter", "code": "no_customers",
             "message": "no customer you can see matches"}])
    reply = await caller.call(services.tagging.StartTagBatch, pb.StartTagBatchRequest(
        action=body.action, tag_ids=body.tag_ids, customer_ids=customers))
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return batch_out(reply)


@router.get(
    "/{batch_id}",
    response_model=TagBatch,
    **operation(operation_id="getTagBatch", summary="A tag batch's progress and counts", scopes=[Scope.TAGS_READ],
                errors=[404]),
)
async def get_tag_batch(batch_id: str, caller: CallerDep, services: BackendsDep) -> TagBatch:
    return batch_out(await caller.call(services.tagging.GetTagBatch, pb.GetTagBatchRequest(id=batch_id)))


@router.post(
    "/{batch_id}:undo",
    response_model=TagBatch,
    **operation(operation_id="undoTagBatch", summary="Undo a tag batch (a job)",
                scopes=[Scope.CUSTOMERS_WRITE, Scope.TAGS_READ], errors=[*WRITE_ERRORS, 404, 409], status_code=202),
)
async def undo_tag_batch(batch_id: str, response: Response, caller: CallerDep, services: BackendsDep) -> TagBatch:
    reply = await caller.call(services.tagging.UndoTagBatch, pb.UndoTagBatchRequest(id=batch_id))
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return batch_out(reply)
