"""/v1/customer-bulk-changes: change owner or status for every customer matching a list filter, as a
job (HTTP <-> crm.customers.v1.CustomerBulkChangeService)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from google.protobuf import json_format
from pydantic import Field, ValidationError

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Int32,
    Multiline,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_gateway.api.customers import CUSTOM_FILTER_PREFIX, CustomerListQuery, list_request
from crm_gateway.api.tags import check_tag_filter
from crm_gateway.problems import Problem
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import bulk_changes_pb2 as pb

router = APIRouter(prefix="/v1/customer-bulk-changes", tags=["customers"])

# List parameters that are paging, not filters.
NOT_FILTERS = frozenset({"page_size", "page_token", "order_by",
                         # a report cell opens a list to read, not a mass change's target
                         "report", "report_cell"})
FILTERS = tuple(name for name in CustomerListQuery.model_fields if name not in NOT_FILTERS)
TAG_FILTER = "tag_id"
IDS_FILTER = "ids"  # only these customers (at most 500), joined by commas


class BulkChangeSet(RequestBody):
    owner_id: str | None = Field(None, description="New owner (a user in your data scope)")
    status: Literal["potential", "intent", "won", "lost"] | None = Field(
        None, description="New status; each customer's transition is checked as in :change-status"
    )
    reason: Multiline | None = Field(None, max_length=500, description="Required with status")


class BulkChangeCreate(RequestBody):
    filter: dict[str, str | bool] = Field(
        default_factory=dict,
        description=f"The customer list's filters: {', '.join(FILTERS)}, `cf.<key>`; `tag_id` holds tag ids "
                    "joined by commas, `ids` customer ids joined by commas (at most 500). Empty: every customer you "
                    "can see.",
    )
    set: BulkChangeSet = Field(description="Either `owner_id`, or `status` with `reason`")


class BulkChangeFailure(Resource):
    customer_id: str
    code: str = Field(description="What a single update would have answered: transition_not_allowed, not_found, "
                                  "owner_out_of_scope, field_read_only, stale_version, ...")


class BulkChange(Resource):
    id: str
    status: str = Field(description="queued, running, cancelling, succeeded or cancelled")
    filter: dict[str, Any]
    set: dict[str, str]
    total: int | None = Field(description="Matching customers; null until the job has taken its snapshot")
    processed: int
    changed: int
    unchanged: int = Field(description="Already had the owner or status")
    failed: int
    failures: list[BulkChangeFailure] = Field(description="A page of failures, in processing order")
    failures_next_page_token: str | None = Field(None, description="Pass as `failures_page_token` for more")
    created_by: str
    created_at: datetime | None
    updated_at: datetime | None
    finished_at: datetime | None


def _filter_out(message: Any) -> dict[str, Any]:
    raw = json_format.MessageToDict(message, preserving_proto_field_name=True)
    custom = raw.pop("custom_fields", {})
    return {**raw, **{f"{CUSTOM_FILTER_PREFIX}{k}": v for k, v in custom.items()}}


def bulk_change_out(message: Any) -> BulkChange:
    changes = {k: v for k, v in (("owner_id", message.set.owner_id), ("status", message.set.status),
                                 ("reason", message.set.reason)) if v}
    return BulkChange(
        id=message.id, status=message.status, filter=_filter_out(message.filter), set=changes,
        total=message.total if message.HasField("total") else None, processed=message.processed,
        changed=message.changed, unchanged=message.unchanged, failed=message.failed,
        failures=[BulkChangeFailure(customer_id=f.customer_id, code=f.code) for f in message.failures],
        failures_next_page_token=message.failures_next_page_token or None, created_by=message.created_by,
        created_at=timestamp(message.created_at), updated_at=timestamp(message.updated_at),
        finished_at=timestamp(message.finished_at),
    )


def filter_request(raw: dict[str, str | bool]) -> Any:
    """The body's filter through the list's own query model (unknown names are a 400)."""
    errors: list[dict[str, str]] = []
    custom: dict[str, str] = {}
    plain: dict[str, Any] = {}
    for name, value in raw.items():
        if name.startswith(CUSTOM_FILTER_PREFIX) and len(name) > len(CUSTOM_FILTER_PREFIX):
            custom[name[len(CUSTOM_FILTER_PREFIX):]] = str(value)
        elif name in (TAG_FILTER, IDS_FILTER) and isinstance(value, str):
            # Ids joined by commas, as in saved views (the list query splits them).
            plain[name] = [value]
        elif name in FILTERS:
            plain[name] = value
        else:
            errors.append({"field": f"filter.{name}", "code": "unknown_field", "message": ""})
    query = None
    try:
        query = CustomerListQuery(**plain)
    except ValidationError as exc:
        errors += [{"field": "filter." + ".".join(str(p) for p in e["loc"]), "code": "invalid_type",
                    "message": e["msg"]} for e in exc.errors()]
    if errors or query is None:
        raise Problem(400, "invalid_input", errors=errors, params={"count": len(errors)})
    return list_request(query, custom)


def _set_request(body: BulkChangeSet) -> Any:
    return pb.BulkChangeSet(owner_id=body.owner_id or "", status=body.status or "", reason=body.reason or "")


@router.post(
    "",
    response_model=BulkChange,
    **operation(
        operation_id="startCustomerBulkChange", summary="Change owner or status of every matching customer (job)",
        scopes=[Scope.CUSTOMERS_WRITE], errors=[*WRITE_ERRORS, 404], status_code=202,
        description="Validates the filter and the change, then runs as a job with your access as it is now: "
                    "only customers in your data scope are touched, each like a single update (event, history, "
                    "timeline). Customers that cannot change are listed as failures; the rest go on. Follow "
                    "it at `Location`.",
    ),
)
async def start_bulk_change(body: BulkChangeCreate, response: Response, caller: CallerDep,
                            services: BackendsDep) -> BulkChange:
    customers_filter = filter_request(body.filter)
    await check_tag_filter(caller, services, customers_filter.tag_ids, f"filter.{TAG_FILTER}")
    reply = await caller.call(
        services.customer_bulk_changes.StartBulkChange,
        pb.StartBulkChangeRequest(filter=customers_filter, set=_set_request(body.set)),
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return bulk_change_out(reply)


@router.get(
    "/{bulk_change_id}",
    response_model=BulkChange,
    **operation(operation_id="getCustomerBulkChange", summary="Progress and failures of a mass change",
                scopes=[Scope.CUSTOMERS_READ], errors=[400, 404],
                description="Your own mass changes (any of the tenant's with customers:admin)."),
)
async def get_bulk_change(
    bulk_change_id: str, caller: CallerDep, services: BackendsDep,
    failures_page_size: Annotated[Int32, Query(ge=1, description="At most 500")] = 50,
    failures_page_token: Annotated[str, Query(description="`failures_next_page_token` of the last reply")] = "",
) -> BulkChange:
    reply = await caller.call(
        services.customer_bulk_changes.GetBulkChange,
        pb.GetBulkChangeRequest(id=bulk_change_id, failures_page_size=failures_page_size,
                                failures_page_token=failures_page_token),
    )
    return bulk_change_out(reply)


@router.post(
    "/{bulk_change_id}:cancel",
    response_model=BulkChange,
    **operation(operation_id="cancelCustomerBulkChange", summary="Stop a mass change after its current batch",
                scopes=[Scope.CUSTOMERS_WRITE], errors=[*WRITE_ERRORS, 404],
                description="Customers already changed stay changed. A finished one is returned as it is."),
)
async def cancel_bulk_change(bulk_change_id: str, caller: CallerDep, services: BackendsDep) -> BulkChange:
    reply = await caller.call(services.customer_bulk_changes.CancelBulkChange,
                              pb.CancelBulkChangeRequest(id=bulk_change_id))
    return bulk_change_out(reply)
