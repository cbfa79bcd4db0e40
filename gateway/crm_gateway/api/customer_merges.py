"""`POST /v1/customers:merge` and /v1/merges (API.md): HTTP <-> crm.customers.v1.MergeService
(merge duplicates into a survivor, undo within 30 days)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    expected_version,
    operation,
    page,
    timestamp,
)
from crm_gateway.api.customers import Customer, customer_out
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import merges_pb2 as pb

router = APIRouter(tags=["customer merges"])
MERGES = "/v1/merges"


class CustomerMerge(Resource):
    id: str
    survivor_id: str
    merged_ids: list[str]
    values: dict[str, str] = Field(description="Field -> id of the customer whose value survived")
    changed_fields: list[str] = Field(description="Survivor fields the merge changed")
    merged_by: str
    merged_at: datetime | None
    expires_at: datetime | None = Field(description="Undo deadline (30 days after the merge)")
    undone_at: datetime | None
    undone_by: str | None
    undoable: bool = Field(description="Not undone and before the deadline")
    survivor_name: str | None = Field(None, description="The survivor's name now (when your role may see it)")
    survivor_code: str | None = None
    survivor: Customer | None = Field(None, description="The survivor after the merge or undo (those replies only)")


def merge_out(message: Any) -> CustomerMerge:
    return CustomerMerge(
        id=message.id, survivor_id=message.survivor_id, merged_ids=list(message.merged_ids),
        values=dict(message.values), changed_fields=list(message.changed_fields), merged_by=message.merged_by,
        merged_at=timestamp(message.merged_at), expires_at=timestamp(message.expires_at),
        undone_at=timestamp(message.undone_at), undone_by=message.undone_by or None, undoable=message.undoable,
        survivor_name=message.survivor_name or None, survivor_code=message.survivor_code or None,
        survivor=customer_out(message.survivor) if message.HasField("survivor") else None,
    )


class MergeCreate(RequestBody):
    survivor_id: str = Field(description="The customer that survives")
    merged_ids: list[str] = Field(description="1 to 9 other customers merged into the survivor")
    values: dict[str, str] = Field(
        default_factory=dict,
        description='Field -> id of the customer (survivor or merged) whose value survives, e.g. '
                    '{"email": "<id>", "custom_fields.tier": "<id>"}. Fields not named keep the survivor\'s value; '
                    "`code` is always the survivor's; `annual_revenue` brings its currency.",
    )


class UndoBody(RequestBody):
    force: bool = Field(False, description="Undo even if the survivor was edited after the merge (those edits "
                                           "are lost)")


class MergeListQuery(PageQuery):
    survivor_id: str = Field("", description="Only merges into this customer")


@router.post(
    "/v1/customers:merge",
    response_model=CustomerMerge,
    **operation(
        operation_id="mergeCustomers", summary="Merge customers into a survivor", scopes=[Scope.CUSTOMERS_WRITE],
        errors=[*WRITE_ERRORS, 404, 409, 412], status_code=201,
        description="Every customer must be live and in your data scope (404 otherwise). Chosen values are "
                    "checked like an update (field errors are named `values.<field>`; a field your role may not "
                    "change is `field_read_only`). `If-Match` (the survivor's ETag) is optional. Merged "
                    "customers are soft-deleted with `merged_into`; their status history, tags, follow-ups and "
                    "orders move to the survivor. Undo within 30 days with `:undo`.",
    ),
)
async def merge_customers(
    body: MergeCreate, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the survivor you read")] = None,
) -> CustomerMerge:
    reply = await caller.call(services.merges.MergeCustomers, pb.MergeCustomersRequest(
        survivor_id=body.survivor_id, merged_ids=body.merged_ids, values=body.values,
        expected_version=expected_version(if_match) if if_match else 0,
    ))
    response.headers["Location"] = f"{MERGES}/{reply.id}"
    return merge_out(reply)


@router.get(
    MERGES,
    response_model=Page[CustomerMerge],
    **operation(operation_id="listCustomerMerges", summary="Recent merges, newest first, with undo deadlines",
                scopes=[Scope.CUSTOMERS_READ], errors=[400]),
)
async def list_merges(query: Annotated[MergeListQuery, Query()], caller: CallerDep,
                      services: BackendsDep) -> Page[CustomerMerge]:
    reply = await caller.call(services.merges.ListMerges, pb.ListMergesRequest(
        page_size=query.size, page_token=query.page_token, survivor_id=query.survivor_id,
    ))
    return page([merge_out(m) for m in reply.items], reply.next_page_token)


@router.get(
    f"{MERGES}/{{merge_id}}",
    response_model=CustomerMerge,
    **operation(operation_id="getCustomerMerge", summary="Get a merge", scopes=[Scope.CUSTOMERS_READ],
                errors=[404]),
)
async def get_merge(merge_id: str, caller: CallerDep, services: BackendsDep) -> CustomerMerge:
    return merge_out(await caller.call(services.merges.GetMerge, pb.GetMergeRequest(id=merge_id)))


@router.post(
    f"{MERGES}/{{merge_id}}:undo",
    response_model=CustomerMerge,
    **operation(
        operation_id="undoCustomerMerge", summary="Undo a merge (within 30 days)", scopes=[Scope.CUSTOMERS_WRITE],
        errors=[*WRITE_ERRORS, 404, 409],
        description="Restores the merged customers, the survivor's values before the merge and every moved "
                    "record. 409 `merge_undo_expired` after the deadline, `merge_already_undone` the second "
                    "time, `survivor_changed_since_merge` when the survivor was edited after the merge (send "
                    '`{"force": true}` to discard those edits), `survivor_deleted` when it was deleted since.',
    ),
)
async def undo_merge(merge_id: str, caller: CallerDep, services: BackendsDep,
                     body: UndoBody | None = None) -> CustomerMerge:
    force = body.force if body is not None else False
    return merge_out(await caller.call(services.merges.UndoMerge, pb.UndoMergeRequest(id=merge_id, force=force)))
