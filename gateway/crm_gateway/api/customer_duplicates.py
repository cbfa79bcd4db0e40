"""/v1/duplicate-scans and /v1/duplicate-groups: the tenant-wide duplicate scan
(a job) and the groups it finds (HTTP <-> crm.customers.v1.DuplicateService)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Page,
    PageQuery,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_gateway.api.customers import Customer, PossibleDuplicate, customer_out, duplicate_out
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import duplicates_pb2 as pb

router = APIRouter(tags=["customer duplicates"])

SCANS = "/v1/duplicate-scans"
GROUPS = "/v1/duplicate-groups"
REASONS = ("credit_code, resident_id, bank_card, email, phone, name (same name after removing legal suffixes and "
           "punctuation), name_similar (one edit apart, or with and without its leading place), contact_person, "
           "email_domain, region")


class DuplicateScan(Resource):
    id: str
    status: str = Field(description="queued, running, succeeded or failed")
    phase: str | None = Field(description="exact, fuzzy, grouping, done")
    processed: int = Field(description="Work done, in the same units as `total` (customers x phases)")
    total: int
    pairs_found: int
    groups_found: int
    error: str | None
    requested_by: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


def scan_out(message: Any) -> DuplicateScan:
    return DuplicateScan(
        id=message.id, status=message.status, phase=message.phase or None, processed=message.processed,
        total=message.total, pairs_found=message.pairs_found, groups_found=message.groups_found,
        error=message.error or None, requested_by=message.requested_by, created_at=timestamp(message.created_at),
        started_at=timestamp(message.started_at), finished_at=timestamp(message.finished_at),
    )


class DuplicatePair(Resource):
    a: str
    b: str
    confidence: float
    reasons: list[str]


class DuplicateGroup(Resource):
    id: str
    status: str = Field(description="open, dismissed or merged")
    confidence: float = Field(description="0..1: the weakest of the strongest pairs that join every member")
    reasons: list[str] = Field(description=REASONS)
    members: list[Customer] = Field(description="Live members in your data scope, oldest first")
    pairs: list[DuplicatePair] = Field(description="Pairs between the members shown, strongest first")
    hidden_members: int = Field(description="Members outside your data scope (not shown)")
    size: int = Field(description="Customers the scan linked into this group (more than the members when "
                                  "`too_large`)")
    too_large: bool = Field(description="Too many linked customers to review as one group, even at the strongest "
                                        "evidence: `members` is a sample (the best connected). Look for a value "
                                        "they share")
    scan_id: str
    created_at: datetime | None
    updated_at: datetime | None


def group_out(message: Any) -> DuplicateGroup:
    return DuplicateGroup(
        id=message.id, status=message.status, confidence=round(message.confidence, 3), reasons=list(message.reasons),
        members=[customer_out(m) for m in message.members],
        pairs=[DuplicatePair(a=p.a, b=p.b, confidence=round(p.confidence, 3), reasons=list(p.reasons))
               for p in message.pairs],
        hidden_members=message.hidden_members, size=message.size, too_large=message.too_large,
        scan_id=message.scan_id, created_at=timestamp(message.created_at),
        updated_at=timestamp(message.updated_at),
    )


@router.post(
    SCANS,
    response_model=DuplicateScan,
    **operation(
        operation_id="startCustomerDuplicateScan", summary="Scan the whole tenant for duplicate customers (job)",
        scopes=[Scope.CUSTOMERS_ADMIN], errors=WRITE_ERRORS, status_code=202,
        description="Enqueues a scan and returns it; follow its progress at `Location`. While a scan is queued or "
                    "running, that scan is returned instead of a new one. When it succeeds, its groups replace "
                    "the open groups; dismissed pairs are never grouped again.",
    ),
)
async def start_scan(response: Response, caller: CallerDep, services: BackendsDep) -> DuplicateScan:
    reply = await caller.call(services.customer_duplicates.StartDuplicateScan, pb.StartDuplicateScanRequest())
    response.headers["Location"] = f"{SCANS}/{reply.id}"
    return scan_out(reply)


@router.get(
    SCANS,
    response_model=ItemList[DuplicateScan],
    **operation(operation_id="listCustomerDuplicateScans", summary="Recent duplicate scans, newest first",
                scopes=[Scope.CUSTOMERS_ADMIN], errors=[400]),
)
async def list_scans(
    caller: CallerDep, services: BackendsDep,
    page_size: Annotated[int, Query(ge=1, le=50, description="At most 50")] = 10,
) -> ItemList[DuplicateScan]:
    reply = await caller.call(services.customer_duplicates.ListDuplicateScans,
                              pb.ListDuplicateScansRequest(page_size=page_size))
    return ItemList[DuplicateScan](items=[scan_out(s) for s in reply.items])


@router.get(
    SCANS + "/{scan_id}",
    response_model=DuplicateScan,
    **operation(operation_id="getCustomerDuplicateScan", summary="A duplicate scan's status and progress",
                scopes=[Scope.CUSTOMERS_ADMIN], errors=[400, 404]),
)
async def get_scan(scan_id: str, caller: CallerDep, services: BackendsDep) -> DuplicateScan:
    return scan_out(await caller.call(services.customer_duplicates.GetDuplicateScan,
                                      pb.GetDuplicateScanRequest(id=scan_id)))


class GroupListQuery(PageQuery):
    status: Literal["open", "dismissed", "merged"] = Field("open", description="open (default), dismissed, merged")


@router.get(
    GROUPS,
    response_model=Page[DuplicateGroup],
    **operation(operation_id="listCustomerDuplicateGroups", summary="Duplicate groups, highest confidence first",
                scopes=[Scope.CUSTOMERS_READ], errors=[400],
                description="Groups with at least one live member in your data scope; members outside it are "
                            "counted in `hidden_members`, never shown."),
)
async def list_groups(query: Annotated[GroupListQuery, Query()], caller: CallerDep,
                      services: BackendsDep) -> Page[DuplicateGroup]:
    reply = await caller.call(
        services.customer_duplicates.ListDuplicateGroups,
        pb.ListDuplicateGroupsRequest(page_size=query.size, page_token=query.page_token, status=query.status),
    )
    return page([group_out(g) for g in reply.items], reply.next_page_token)


@router.get(
    GROUPS + "/{group_id}",
    response_model=DuplicateGroup,
    **operation(operation_id="getCustomerDuplicateGroup", summary="A duplicate group with its members side by side",
                scopes=[Scope.CUSTOMERS_READ], errors=[400, 404]),
)
async def get_group(group_id: str, caller: CallerDep, services: BackendsDep) -> DuplicateGroup:
    return group_out(await caller.call(services.customer_duplicates.GetDuplicateGroup,
                                       pb.GetDuplicateGroupRequest(id=group_id)))


@router.post(
    GROUPS + "/{group_id}:dismiss",
    response_model=DuplicateGroup,
    **operation(operation_id="dismissCustomerDuplicateGroup", summary="Not duplicates: dismiss a group",
                scopes=[Scope.CUSTOMERS_ADMIN], errors=[*WRITE_ERRORS, 404, 409],
                description="Every pair of the group is remembered; later scans do not group them again. A group "
                            "that is not open is a 409 `group_not_open`."),
)
async def dismiss_group(group_id: str, caller: CallerDep, services: BackendsDep) -> DuplicateGroup:
    return group_out(await caller.call(services.customer_duplicates.DismissDuplicateGroup,
                                       pb.DismissDuplicateGroupRequest(id=group_id)))


@router.get(
    "/v1/customers/{customer_id}/possible-duplicates",
    response_model=ItemList[PossibleDuplicate],
    **operation(operation_id="listCustomerPossibleDuplicates", summary="Likely and possible duplicates of a customer",
                scopes=[Scope.CUSTOMERS_READ], errors=[400, 404],
                description="What the check on create and update reports for this customer now, highest confidence "
                            "first (at most 10, plus one entry for those outside your data scope). 404 when the "
                            "customer is not in your data scope."),
)
async def list_possible_duplicates(customer_id: str, caller: CallerDep,
                                   services: BackendsDep) -> ItemList[PossibleDuplicate]:
    reply = await caller.call(services.customer_duplicates.ListPossibleDuplicates,
                              pb.ListPossibleDuplicatesRequest(customer_id=customer_id))
    return ItemList[PossibleDuplicate](items=[duplicate_out(d) for d in reply.items])
