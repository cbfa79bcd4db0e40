"""/v1/segments: saved dynamic segments (HTTP <-> crm.customers.v1.SegmentService; docs/tagging.md,
"Segments"). A segment combines tags (all / any / none), the customer list's filters and value
metrics; it is evaluated by the customer list (`/v1/customers?segment_id=`), so its count and members
always obey the reader's data scope and field policies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Multiline,
    Name,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    expected_version,
    json_reply,
    operation,
    timestamp,
)
from crm_gateway.api.customers import Customer, customer_page
from crm_gateway.api.tags import check_saved_tag_filter, check_tag_filter
from crm_gateway.problems import etag
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import customers_pb2 as customers_pb
from crm_proto.crm.customers.v1 import segments_pb2 as pb

router = APIRouter(prefix="/v1/segments", tags=["segments"])

_PARTS = {"all_tags": "tags.all", "any_tags": "tags.any", "none_tags": "tags.none",
          "spend_12m_min": "spend_12m.min", "spend_12m_max": "spend_12m.max",
          "spend_currency": "spend_12m.currency", "orders_30d_min": "orders_30d.min",
          "orders_30d_max": "orders_30d.max"}
_PART = re.compile(r"^(segment\.)?definition\.([a-z0-9_]+)(.*)$")


def _rename(name: str) -> str:
    """The service's `segment.definition.spend_12m_min` is the body's `definition.spend_12m.min`."""
    found = _PART.match(name)
    if found is None:
        return name.removeprefix("segment.")
    part, rest = found.group(2), found.group(3)
    return f"definition.{_PARTS.get(part, part)}{rest}"


DEFINITION_DESCRIPTION = (
    "Every part optional, the parts ANDed: `tags` (`all`: carries every one, `any`: at least one, `none`: "
    "none of them), `filters` (the customer list's filters as a saved view holds them: `status`, `industry`, "
    "`region`, `cf.<key>`, ...), `spend_12m` (counted spend in the last 12 months in one currency, "
    "`min`/`max` inclusive decimal strings), `orders_30d` (counted orders dated in the last 30 days) and "
    "`value_segments` (reporting's value segment of the customer: `high_value`, `potential`, `normal`, `low_value`)."
)


class TagParts(BaseModel):
    all: list[str] = Field(default_factory=list, max_length=20, description="Carries every one of these tags")
    any: list[str] = Field(default_factory=list, max_length=20, description="Carries at least one")
    none: list[str] = Field(default_factory=list, max_length=20, description="Carries none of these")


class SpendRange(BaseModel):
    min: str | None = Field(None, description='Decimal string, inclusive ("100000")')
    max: str | None = Field(None, description="Decimal string, inclusive")
    currency: str | None = Field(None, description="ISO 4217; default CNY")


class CountRange(BaseModel):
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


class Definition(BaseModel):
    tags: TagParts = Field(default_factory=TagParts)
    filters: dict[str, str] = Field(default_factory=dict)
    spend_12m: SpendRange | None = None
    orders_30d: CountRange | None = None
    value_segments: list[str] = Field(default_factory=list, description="The customer's value segment is one "
                                      "of these: high_value, potential, normal, low_value")


class TagPartsIn(RequestBody, TagParts):
    pass


class SpendRangeIn(RequestBody, SpendRange):
    pass


class CountRangeIn(RequestBody, CountRange):
    pass


class DefinitionIn(RequestBody):
    tags: TagPartsIn = Field(default_factory=TagPartsIn)
    filters: dict[str, str] = Field(default_factory=dict)
    spend_12m: SpendRangeIn | None = None
    orders_30d: CountRangeIn | None = None
    value_segments: list[str] = Field(default_factory=list, max_length=4)


class Segment(Resource):
    id: str
    name: str
    description: str
    visibility: str = Field(description='"private" (only its owner) or "shared" (everyone in the tenant reads it)')
    owner: str = Field(description="The user id of who saved it")
    definition: Definition = Field(description=DEFINITION_DESCRIPTION)
    version: int
    created_at: datetime | None
    updated_at: datetime | None


class SegmentCreate(RequestBody):
    name: Name = Field(min_length=1, max_length=100)
    description: Multiline = Field("", max_length=500)
    visibility: str = Field("private", description='"private" or "shared"')
    definition: DefinitionIn = Field(default_factory=DefinitionIn, description=DEFINITION_DESCRIPTION)


class SegmentPatch(RequestBody):
    """Only the parts sent change; `definition` is replaced whole."""

    name: Name | None = Field(None, min_length=1, max_length=100)
    description: Multiline | None = Field(None, max_length=500)
    visibility: str | None = None
    definition: DefinitionIn | None = None


class SegmentPreview(RequestBody):
    definition: DefinitionIn = Field(default_factory=DefinitionIn, description=DEFINITION_DESCRIPTION)
    sample_size: int = Field(20, ge=0, le=20, description="How many of the newest matching customers to show")


class SampleCustomer(BaseModel):
    id: str
    name: str
    code: str


class SegmentCount(BaseModel):
    count: int = Field(description="Customers in the segment now, within your data scope")
    sample: list[SampleCustomer] = Field(default_factory=list)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def definition_message(body: Definition | DefinitionIn) -> pb.SegmentDefinition:
    spend = body.spend_12m
    orders = body.orders_30d
    return pb.SegmentDefinition(
        all_tags=body.tags.all, any_tags=body.tags.any, none_tags=body.tags.none, filters=body.filters,
        spend_12m_min=_text(spend.min if spend else None), spend_12m_max=_text(spend.max if spend else None),
        spend_currency=_text(spend.currency if spend else None),
        orders_30d_min=_text(orders.min if orders else None), orders_30d_max=_text(orders.max if orders else None),
        value_segments=body.value_segments,
    )


def definition_out(message: pb.SegmentDefinition) -> Definition:
    spend = (SpendRange(min=message.spend_12m_min or None, max=message.spend_12m_max or None,
                        currency=message.spend_currency or None)
             if message.spend_12m_min or message.spend_12m_max else None)
    orders = (CountRange(min=int(message.orders_30d_min) if message.orders_30d_min else None,
                         max=int(message.orders_30d_max) if message.orders_30d_max else None)
              if message.orders_30d_min or message.orders_30d_max else None)
    return Definition(tags=TagParts(all=list(message.all_tags), any=list(message.any_tags),
                                    none=list(message.none_tags)),
                      filters=dict(message.filters), spend_12m=spend, orders_30d=orders,
                      value_segments=list(message.value_segments))


def segment_out(message: Any) -> Segment:
    return Segment(
        id=message.id, name=message.name, description=message.description, visibility=message.visibility,
        owner=message.owner, definition=definition_out(message.definition), version=message.version,
        created_at=timestamp(message.created_at), updated_at=timestamp(message.updated_at),
    )


def count_out(message: Any) -> SegmentCount:
    return SegmentCount(count=message.count,
                        sample=[SampleCustomer(id=s.id, name=s.name, code=s.code) for s in message.sample])


async def check_definition_tags(caller: Any, services: Any, definition: DefinitionIn | None) -> None:
    """Every tag a definition names is a tag of the tenant (tagging says which exist)."""
    if definition is None:
        return
    for part in ("all", "any", "none"):
        await check_tag_filter(caller, services, getattr(definition.tags, part), f"definition.tags.{part}")
    await check_saved_tag_filter(caller, services, definition.filters)


def segment_input(sent: dict[str, Any], body: SegmentCreate | SegmentPatch) -> pb.SegmentInput:
    message = pb.SegmentInput()
    for name in ("name", "description", "visibility"):
        if sent.get(name) is not None:
            setattr(message, name, sent[name])
    if body.definition is not None:
        message.definition_set = True
        message.definition.CopyFrom(definition_message(body.definition))
    return message


def _single(response: Response, segment: Segment) -> Segment:
    response.headers["ETag"] = etag(segment.version)
    return segment


SCOPES = [Scope.CUSTOMERS_READ]


@router.get("", response_model=ItemList[Segment],
            **operation(operation_id="listSegments", summary="Your segments and the shared ones, by name",
                        scopes=SCOPES))
async def list_segments(caller: CallerDep, services: BackendsDep) -> ItemList[Segment]:
    reply = await caller.call(services.segments.ListSegments, pb.ListSegmentsRequest())
    return ItemList[Segment](items=[segment_out(s) for s in reply.items])


@router.post("", response_model=Segment,
             **operation(operation_id="createSegment", summary="Save a segment", scopes=SCOPES,
                         errors=[*WRITE_ERRORS, 403, 409], status_code=201,
                         description="409 `segment_name_taken` when you already have a segment with this name; "
                                     "a filter or metric your role hides is 400 `field_hidden`; naming tags "
                                     "needs `tags:read` too (403 without)."))
async def create_segment(body: SegmentCreate, response: Response, caller: CallerDep,
                         services: BackendsDep) -> Segment:
    await check_definition_tags(caller, services, body.definition)
    reply = await caller.call(services.segments.CreateSegment,
                              pb.CreateSegmentRequest(segment=segment_input(body.model_dump(), body)),
                              rename=_rename)
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return _single(response, segment_out(reply))


@router.post(":preview", response_model=SegmentCount,
             **operation(operation_id="previewSegment",
                         summary="How many customers an unsaved definition matches now, and a sample",
                         scopes=SCOPES, errors=[*WRITE_ERRORS, 403]))
async def preview_segment(body: SegmentPreview, caller: CallerDep, services: BackendsDep) -> SegmentCount:
    await check_definition_tags(caller, services, body.definition)
    reply = await caller.call(services.segments.PreviewSegment, pb.PreviewSegmentRequest(
        definition=definition_message(body.definition), sample_size=body.sample_size), rename=_rename)
    return count_out(reply)


@router.get("/{segment_id}", response_model=Segment,
            **operation(operation_id="getSegment", summary="Get a segment", scopes=SCOPES, errors=[404]))
async def get_segment(segment_id: str, response: Response, caller: CallerDep, services: BackendsDep) -> Segment:
    reply = await caller.call(services.segments.GetSegment, pb.GetSegmentRequest(id=segment_id))
    return _single(response, segment_out(reply))


@router.patch("/{segment_id}", response_model=Segment,
              **operation(operation_id="updateSegment", summary="Change a segment (its owner only)", scopes=SCOPES,
                          errors=[*WRITE_ERRORS, 403, 404, 409, 412, 428],
                          description="403 `not_segment_owner` for another user's shared segment. Send the ETag "
                                      "you read in `If-Match`; a stale one gets 412."))
async def update_segment(
    segment_id: str, body: SegmentPatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description='ETag of the version you read, e.g. W/"3"')] = None,
) -> Segment:
    version = expected_version(if_match)
    await check_definition_tags(caller, services, body.definition)
    reply = await caller.call(services.segments.UpdateSegment, pb.UpdateSegmentRequest(
        id=segment_id, segment=segment_input(body.model_dump(exclude_unset=True), body), expected_version=version),
        rename=_rename)
    return _single(response, segment_out(reply))


@router.delete("/{segment_id}", response_model=Segment,
               **operation(operation_id="deleteSegment", summary="Delete a segment (its owner only; returns it)",
                           scopes=SCOPES, errors=[403, 404]))
async def delete_segment(segment_id: str, caller: CallerDep, services: BackendsDep) -> Segment:
    reply = await caller.call(services.segments.DeleteSegment, pb.DeleteSegmentRequest(id=segment_id))
    return segment_out(reply)


@router.get("/{segment_id}/count", response_model=SegmentCount,
            **operation(operation_id="countSegment", summary="How many customers are in the segment now",
                        scopes=SCOPES, errors=[404],
                        description="Counted under your data scope: a sales rep counts only the customers they "
                                    "own. 400 `field_hidden` on `segment_id` when it filters by spend your role "
                                    "may not see."))
async def count_segment(segment_id: str, caller: CallerDep, services: BackendsDep) -> SegmentCount:
    reply = await caller.call(services.segments.CountSegment, pb.CountSegmentRequest(id=segment_id))
    return count_out(reply)


class MembersQuery(PageQuery):
    order_by: str = Field("", description="As the customer list's `order_by`")


@router.get("/{segment_id}/members", response_model=Page[Customer],
            **operation(operation_id="listSegmentMembers",
                        summary="The segment's customers (the customer list with `segment_id`)",
                        scopes=SCOPES, errors=[404]))
async def list_members(segment_id: str, query: Annotated[MembersQuery, Query()], caller: CallerDep,
                       services: BackendsDep) -> Response:
    segment = await caller.call(services.segments.GetSegment, pb.GetSegmentRequest(id=segment_id))
    reply = await caller.call(services.customers.ListCustomers, customers_pb.ListCustomersRequest(
        page_size=query.page_size, page_token=query.page_token, order_by=query.order_by, segment_id=segment.id))
    return json_reply(customer_page(reply))
