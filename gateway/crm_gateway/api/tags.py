"""/v1/tags and /v1/customers/{id}/tags (tagging)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Name,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_gateway.clients import Backends, Caller
from crm_gateway.problems import Problem
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
    name: Name
    color: str = Field("", description="CSS colour such as #1f6feb")


class CustomerTag(Resource):
    customer_id: str
    tag_id: str
    tag_name: str
    tag_color: str = Field(description="The tag's colour, #rrggbb")
    source: str = Field(description='"rule" or "manual"')
    rule_id: str
    applied_by: str = Field(description="The user who applied it by hand; empty for rules")
    applied_at: datetime | None


def customer_tag_out(message: Any) -> CustomerTag:
    return CustomerTag(
        customer_id=message.customer_id, tag_id=message.tag_id, tag_name=message.tag_name,
        tag_color=message.tag_color, source=message.source, rule_id=message.rule_id,
        applied_by=message.applied_by, applied_at=timestamp(message.applied_at),
    )


class CustomerTagApply(RequestBody):
    tag_id: str = Field(description="A tag of the tenant (GET /v1/tags)")


TAG_FILTER: Final = "tag_id"
# Tags one list request may filter by (each is one EXISTS on customers' tag projection).
MAX_TAG_FILTER: Final = 10


async def check_tag_filter(caller: Caller, services: Backends, tag_ids: Sequence[str], field: str) -> None:
    """The customer list's tag filter names tags of the tenant: 400 on `field` for a malformed
    or unknown id (customers holds only the tags some customer carries, so tagging says which
    exist). Filtering by tag therefore needs `tags:read` as well."""
    if not tag_ids:
        return
    errors: list[dict[str, str]] = []
    wanted: list[str] = []
    for value in tag_ids:
        try:
            wanted.append(str(uuid.UUID(value.strip())))
        except ValueError:
            errors.append({"field": field, "code": "invalid_id", "message": ""})
    if len(tag_ids) > MAX_TAG_FILTER:
        errors.append({"field": field, "code": "too_many", "message": ""})
    if wanted and not errors:
        reply = await caller.call(services.tagging.ListTags, pb.ListTagsRequest(ids=wanted))
        known = {tag.id for tag in reply.items}
        errors += [{"field": field, "code": "unknown_tag", "message": ""} for t in wanted if t not in known]
    if errors:
        raise Problem(400, "invalid_input", errors=errors, params={"count": len(errors)})


async def check_saved_tag_filter(caller: Caller, services: Backends, filters: Mapping[str, str] | None) -> None:
    """`check_tag_filter` for a saved view's or export's filter map, where `tag_id` holds the
    ids joined by commas (docs/customers.md)."""
    raw = (filters or {}).get(TAG_FILTER, "")
    ids = [t for t in raw.split(",") if t.strip()]
    await check_tag_filter(caller, services, ids, f"filters.{TAG_FILTER}")


async def visible_customer(caller: Caller, services: Backends, customer_id: str) -> None:
    """404 unless the customer is in the caller's tenant and data scope. Customers owns both;
    tagging alone cannot tell an unknown customer from an untagged one (docs/access.md)."""
    await caller.call(services.customers.GetCustomer, customers_pb.GetCustomerRequest(id=customer_id))


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
    await visible_customer(caller, services, customer_id)
    reply = await caller.call(services.tagging.ListCustomerTags, pb.ListCustomerTagsRequest(customer_id=customer_id))
    return ItemList[CustomerTag](items=[customer_tag_out(t) for t in reply.items])


APPLY_OPERATION: Final = operation(
    operation_id="applyCustomerTag", summary="Put a tag on a customer",
    scopes=[Scope.CUSTOMERS_WRITE, Scope.CUSTOMERS_READ, Scope.TAGS_READ], errors=[*WRITE_ERRORS, 404],
    status_code=201,
    description="Idempotent: a tag the customer already carries is returned as it is, with 200. An unknown "
                "`tag_id` is a 400 on `tag_id`; a customer outside your tenant or data scope is 404.",
)
APPLY_OPERATION["responses"][200] = {"model": CustomerTag, "description": "The customer already carried the tag"}


@router.post("/v1/customers/{customer_id}/tags", response_model=CustomerTag, **APPLY_OPERATION)
async def apply_customer_tag(customer_id: str, body: CustomerTagApply, response: Response, caller: CallerDep,
                             services: BackendsDep) -> CustomerTag:
    await visible_customer(caller, services, customer_id)
    reply = await caller.call(services.tagging.ApplyCustomerTag,
                              pb.ApplyCustomerTagRequest(customer_id=customer_id, tag_id=body.tag_id))
    applied = customer_tag_out(reply.customer_tag)
    if reply.newly_applied:
        response.headers["Location"] = f"/v1/customers/{applied.customer_id}/tags/{applied.tag_id}"
    else:
        response.status_code = 200
    return applied


@router.delete(
    "/v1/customers/{customer_id}/tags/{tag_id}",
    response_model=CustomerTag,
    **operation(operation_id="removeCustomerTag", summary="Take a tag off a customer (returns it as it was)",
                scopes=[Scope.CUSTOMERS_WRITE, Scope.CUSTOMERS_READ, Scope.TAGS_READ], errors=[404],
                description="404 when the customer does not carry the tag, or is outside your tenant or data "
                            "scope."),
)
async def remove_customer_tag(customer_id: str, tag_id: str, caller: CallerDep,
                              services: BackendsDep) -> CustomerTag:
    await visible_customer(caller, services, customer_id)
    reply = await caller.call(services.tagging.RemoveCustomerTag,
                              pb.RemoveCustomerTagRequest(customer_id=customer_id, tag_id=tag_id))
    return customer_tag_out(reply.removed)
