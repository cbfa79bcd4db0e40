"""/v1/tags and /v1/customers/{id}/tags (tagging)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import customers_pb2 as customers_pb
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb

router = APIRouter(tags=["tags"])


class Tag(Resource):
    id: str
    name: str
    color: str
    created_at: datetime | None


def tag_out(message: Any) -> Tag:
    return Tag(id=message.id, name=message.name, color=message.color, created_at=timestamp(message.created_at))


class TagCreate(RequestBody):
    name: str
    color: str = Field("", description="CSS colour such as #1f6feb")


class CustomerTag(Resource):
    customer_id: str
    tag_id: str
    tag_name: str
    source: str = Field(description='"rule" or "manual"')
    rule_id: str
    applied_at: datetime | None


def customer_tag_out(message: Any) -> CustomerTag:
    return CustomerTag(
        customer_id=message.customer_id, tag_id=message.tag_id, tag_name=message.tag_name, source=message.source,
        rule_id=message.rule_id, applied_at=timestamp(message.applied_at),
    )


@router.get(
    "/v1/tags",
    response_model=Page[Tag],
    **operation(operation_id="listTags", summary="List tags", scopes=[Scope.TAGS_READ], errors=[400]),
)
async def list_tags(query: Annotated[PageQuery, Query()], caller: CallerDep, services: BackendsDep) -> Page[Tag]:
    reply = await caller.call(
        services.tagging.ListTags, pb.ListTagsRequest(page_size=query.size, page_token=query.page_token)
    )
    return page([tag_out(t) for t in reply.items], reply.next_page_token)


@router.post(
    "/v1/tags",
    response_model=Tag,
    **operation(operation_id="createTag", summary="Create a tag", scopes=[Scope.TAGS_MANAGE],
                errors=[*WRITE_ERRORS, 409], status_code=201),
)
async def create_tag(body: TagCreate, response: Response, caller: CallerDep, services: BackendsDep) -> Tag:
    reply = await caller.call(services.tagging.CreateTag, pb.CreateTagRequest(name=body.name, color=body.color))
    response.headers["Location"] = f"/v1/tags/{reply.id}"
    return tag_out(reply)


@router.get(
    "/v1/customers/{customer_id}/tags",
    response_model=ItemList[CustomerTag],
    **operation(operation_id="listCustomerTags", summary="List a customer's tags",
                scopes=[Scope.TAGS_READ, Scope.CUSTOMERS_READ], errors=[404]),
)
async def list_customer_tags(customer_id: str, caller: CallerDep, services: BackendsDep) -> ItemList[CustomerTag]:
    # The customer must be visible to the caller (customers owns tenancy and, later, data scope);
    # tagging alone cannot tell an unknown customer from an untagged one.
    await caller.call(services.customers.GetCustomer, customers_pb.GetCustomerRequest(id=customer_id))
    reply = await caller.call(services.tagging.ListCustomerTags, pb.ListCustomerTagsRequest(customer_id=customer_id))
    return ItemList[CustomerTag](items=[customer_tag_out(t) for t in reply.items])
