"""/v1/tags, /v1/tag-categories, /v1/tag-settings and /v1/customers/{id}/tags (tagging; the tag
library is described in docs/tagging.md)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Query, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Int32,
    ItemList,
    Multiline,
    Name,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    expected_version,
    operation,
    page,
    timestamp,
)
from crm_gateway.clients import Backends, Caller
from crm_gateway.problems import Problem, etag
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import customers_pb2 as customers_pb
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb

router = APIRouter(tags=["tags"])


class Tag(Resource):
    id: str
    name: str
    color: str
    description: str = ""
    category_id: str | None = Field(None, description="The tag's category (GET /v1/tag-categories); null: none")
    exclusive_group: str = Field("", description="Tags sharing a non-empty group are mutually exclusive on a "
                                                 "customer: applying one replaces the other")
    archived: bool = Field(False, description="Archived tags stay on customers but are applied no more")
    archived_at: datetime | None = None
    customer_count: int = Field(0, description="Customers carrying the tag now")
    version: int = 0
    created_at: datetime | None
    updated_at: datetime | None = None


def tag_out(message: Any) -> Tag:
    return Tag(id=message.id, name=message.name, color=message.color, description=message.description,
               category_id=message.category_id or None, exclusive_group=message.exclusive_group,
               archived=message.archived, archived_at=timestamp(message.archived_at),
               customer_count=message.customer_count, version=message.version,
               created_at=timestamp(message.created_at), updated_at=timestamp(message.updated_at))


def _single(response: Response, message: Any) -> Tag:
    response.headers["ETag"] = etag(message.version)
    return tag_out(message)


class TagCreate(RequestBody):
    name: Name
    color: str = Field("", description="CSS colour such as #1f6feb")
    description: Multiline = Field("", max_length=500)
    category_id: str = Field("", description="A category id; empty: none")
    exclusive_group: Name = Field("", max_length=50)


class TagPatch(RequestBody):
    name: Name | None = None
    color: str | None = None
    description: Multiline | None = Field(None, max_length=500)
    category_id: str | None = Field(None, description="A category id; empty string: none")
    exclusive_group: Name | None = Field(None, max_length=50)
    archived: bool | None = Field(None, description="true archives, false restores")


class TagMerge(RequestBody):
    into_tag_id: str = Field(description="The tag that stays; this tag's customers and rules move to it")


class TagDeletion(Resource):
    tag: Tag = Field(description="The tag as it was")
    removed_from_customers: int
    deleted_rules: int


class TagMergeResult(Resource):
    target: Tag
    moved_customers: int = Field(description="Customers who got the kept tag from the merged one")
    already_tagged: int = Field(description="Customers who carried both (they keep the kept tag)")
    moved_rules: int


class TagListQuery(PageQuery):
    category_id: str = Field("", description='Only this category; "none": uncategorised')
    state: str = Field("", description='"active" or "archived"; empty: both')


class TagCategory(Resource):
    id: str
    key: str | None = Field(None, description='Built-in: "basic", "behaviour", "value", "preference"; null: own')
    name: str
    description: str
    position: int
    tag_count: int
    created_at: datetime | None


def category_out(message: Any) -> TagCategory:
    return TagCategory(id=message.id, key=message.key or None, name=message.name, description=message.description,
                       position=message.position, tag_count=message.tag_count,
                       created_at=timestamp(message.created_at))


class TagCategoryCreate(RequestBody):
    name: Name
    description: Multiline = Field("", max_length=500)
    position: Int32 = Field(100, ge=0, le=10_000)


class TagCategoryPatch(RequestBody):
    name: Name | None = None
    description: Multiline | None = Field(None, max_length=500)
    position: Int32 | None = Field(None, ge=0, le=10_000)


class TaggingSettings(Resource):
    max_tags_per_customer: int = Field(description="Tags one customer may carry (default 10)")
    version: int
    updated_at: datetime | None


class TaggingSettingsPatch(RequestBody):
    max_tags_per_customer: Int32 | None = Field(None, ge=1, le=100)


class CustomerTag(Resource):
    customer_id: str
    tag_id: str
    tag_name: str
    tag_color: str = Field(description="The tag's colour, #rrggbb")
    source: str = Field(description='"rule" or "manual"')
    rule_id: str
    rule_name: str = Field("", description="The rule that applied it, while it exists")
    trigger: str = Field("", description='Why a rule applied it: the event ("crm.order.recorded <id>"), "sweep" '
                                         'or "rerun"')
    applied_by: str = Field(description="The user who applied it by hand; empty for rules")
    applied_at: datetime | None


def customer_tag_out(message: Any) -> CustomerTag:
    return CustomerTag(
        customer_id=message.customer_id, tag_id=message.tag_id, tag_name=message.tag_name,
        tag_color=message.tag_color, source=message.source, rule_id=message.rule_id,
        applied_by=message.applied_by, applied_at=timestamp(message.applied_at), rule_name=message.rule_name,
        trigger=message.trigger,
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
async def list_tags(query: Annotated[TagListQuery, Query()], caller: CallerDep, services: BackendsDep) -> Page[Tag]:
    reply = await caller.call(
        services.tagging.ListTags, pb.ListTagsRequest(page_size=query.size, page_token=query.page_token,
                                                      category_id=query.category_id, state=query.state)
    )
    return page([tag_out(t) for t in reply.items], reply.next_page_token)


@router.post(
    "/v1/tags",
    response_model=Tag,
    **operation(operation_id="createTag", summary="Create a tag", scopes=[Scope.TAGS_MANAGE],
                errors=[*WRITE_ERRORS, 409], status_code=201),
)
async def create_tag(body: TagCreate, response: Response, caller: CallerDep, services: BackendsDep) -> Tag:
    reply = await caller.call(services.tagging.CreateTag, pb.CreateTagRequest(
        name=body.name, color=body.color, description=body.description, category_id=body.category_id,
        exclusive_group=body.exclusive_group))
    response.headers["Location"] = f"/v1/tags/{reply.id}"
    return _single(response, reply)


@router.get(
    "/v1/tags/{tag_id}",
    response_model=Tag,
    **operation(operation_id="getTag", summary="Get a tag (with how many customers carry it)",
                scopes=[Scope.TAGS_READ], errors=[404]),
)
async def get_tag(tag_id: str, response: Response, caller: CallerDep, services: BackendsDep) -> Tag:
    return _single(response, await caller.call(services.tagging.GetTag, pb.GetTagRequest(id=tag_id)))


@router.patch(
    "/v1/tags/{tag_id}",
    response_model=Tag,
    **operation(operation_id="updateTag", summary="Change a tag: rename, recolour, describe, categorise, archive",
                scopes=[Scope.TAGS_MANAGE], errors=[*WRITE_ERRORS, 404, 409, 412],
                description="Only the fields sent change. Customers keep a renamed or archived tag; an archived "
                            "tag is applied no more, by hand or by rule. `If-Match` is optional."),
)
async def update_tag(
    tag_id: str, body: TagPatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> Tag:
    sent = body.model_dump(exclude_unset=True)
    request = pb.UpdateTagRequest(id=tag_id, expected_version=expected_version(if_match) if if_match else 0)
    for name, value in sent.items():
        if value is not None:
            setattr(request, name, value)
    return _single(response, await caller.call(services.tagging.UpdateTag, request))


@router.delete(
    "/v1/tags/{tag_id}",
    response_model=TagDeletion,
    **operation(operation_id="deleteTag", summary="Delete a tag, taking it off every customer",
                scopes=[Scope.TAGS_MANAGE], errors=[404, 412],
                description="Returns the tag as it was, how many customers it was taken off and how many rules "
                            "were deleted with it (GET the tag first to see `customer_count`). Consider archiving "
                            "instead: it keeps the tag on customers."),
)
async def delete_tag(
    tag_id: str, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> TagDeletion:
    reply = await caller.call(services.tagging.DeleteTag, pb.DeleteTagRequest(
        id=tag_id, expected_version=expected_version(if_match) if if_match else 0))
    return TagDeletion(tag=tag_out(reply.tag), removed_from_customers=reply.removed_from_customers,
                       deleted_rules=reply.deleted_rules)


@router.post(
    "/v1/tags/{tag_id}:merge",
    response_model=TagMergeResult,
    **operation(operation_id="mergeTags", summary="Merge this tag into another (this one is deleted)",
                scopes=[Scope.TAGS_MANAGE], errors=[*WRITE_ERRORS, 404]),
)
async def merge_tags(tag_id: str, body: TagMerge, caller: CallerDep, services: BackendsDep) -> TagMergeResult:
    await caller.call(services.tagging.GetTag, pb.GetTagRequest(id=tag_id))  # 404 for an unknown path tag
    reply = await caller.call(services.tagging.MergeTags, pb.MergeTagsRequest(
        source_tag_id=tag_id, target_tag_id=body.into_tag_id), rename=_merge_fields)
    return TagMergeResult(target=tag_out(reply.target), moved_customers=reply.moved_customers,
                          already_tagged=reply.already_tagged, moved_rules=reply.moved_rules)


def _merge_fields(name: str) -> str:
    return "into_tag_id" if name == "target_tag_id" else name


@router.get(
    "/v1/tag-categories",
    response_model=ItemList[TagCategory],
    **operation(operation_id="listTagCategories", summary="List tag categories", scopes=[Scope.TAGS_READ]),
)
async def list_tag_categories(caller: CallerDep, services: BackendsDep) -> ItemList[TagCategory]:
    reply = await caller.call(services.tagging.ListTagCategories, pb.ListTagCategoriesRequest())
    return ItemList[TagCategory](items=[category_out(c) for c in reply.items])


@router.post(
    "/v1/tag-categories",
    response_model=TagCategory,
    **operation(operation_id="createTagCategory", summary="Create a tag category", scopes=[Scope.TAGS_MANAGE],
                errors=[*WRITE_ERRORS, 409], status_code=201),
)
async def create_tag_category(body: TagCategoryCreate, response: Response, caller: CallerDep,
                              services: BackendsDep) -> TagCategory:
    reply = await caller.call(services.tagging.CreateTagCategory, pb.CreateTagCategoryRequest(
        name=body.name, description=body.description, position=body.position))
    response.headers["Location"] = f"/v1/tag-categories/{reply.id}"
    return category_out(reply)


@router.patch(
    "/v1/tag-categories/{category_id}",
    response_model=TagCategory,
    **operation(operation_id="updateTagCategory", summary="Rename or reorder a tag category",
                scopes=[Scope.TAGS_MANAGE], errors=[*WRITE_ERRORS, 404, 409]),
)
async def update_tag_category(category_id: str, body: TagCategoryPatch, caller: CallerDep,
                              services: BackendsDep) -> TagCategory:
    request = pb.UpdateTagCategoryRequest(id=category_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(request, name, value)
    return category_out(await caller.call(services.tagging.UpdateTagCategory, request))


@router.delete(
    "/v1/tag-categories/{category_id}",
    response_model=TagCategory,
    **operation(operation_id="deleteTagCategory", summary="Delete one of your tag categories",
                scopes=[Scope.TAGS_MANAGE], errors=[404, 409],
                description="Its tags become uncategorised. The four built-in categories cannot be deleted "
                            "(409 `builtin_category`)."),
)
async def delete_tag_category(category_id: str, caller: CallerDep, services: BackendsDep) -> TagCategory:
    return category_out(await caller.call(services.tagging.DeleteTagCategory,
                                          pb.DeleteTagCategoryRequest(id=category_id)))


def settings_out(response: Response, message: Any) -> TaggingSettings:
    response.headers["ETag"] = etag(message.version)
    return TaggingSettings(max_tags_per_customer=message.max_tags_per_customer, version=message.version,
                           updated_at=timestamp(message.updated_at))


@router.get(
    "/v1/tag-settings",
    response_model=TaggingSettings,
    **operation(operation_id="getTaggingSettings", summary="Get the tenant's tagging settings",
                scopes=[Scope.TAGS_READ]),
)
async def get_tagging_settings(response: Response, caller: CallerDep, services: BackendsDep) -> TaggingSettings:
    return settings_out(response, await caller.call(services.tagging.GetTaggingSettings,
                                                    pb.GetTaggingSettingsRequest()))


@router.patch(
    "/v1/tag-settings",
    response_model=TaggingSettings,
    **operation(operation_id="updateTaggingSettings", summary="Change the tenant's tagging settings",
                scopes=[Scope.TAGS_MANAGE], errors=[*WRITE_ERRORS, 412],
                description="`max_tags_per_customer` (1-100) caps the tags one customer carries; customers "
                            "already above a lowered limit keep theirs but get no more."),
)
async def update_tagging_settings(
    body: TaggingSettingsPatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> TaggingSettings:
    request = pb.UpdateTaggingSettingsRequest(expected_version=expected_version(if_match) if if_match else 0)
    if body.max_tags_per_customer is not None:
        request.max_tags_per_customer = body.max_tags_per_customer
    return settings_out(response, await caller.call(services.tagging.UpdateTaggingSettings, request))


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
    scopes=[Scope.CUSTOMERS_WRITE, Scope.CUSTOMERS_READ, Scope.TAGS_READ], errors=[*WRITE_ERRORS, 404, 409],
    status_code=201,
    description="Idempotent: a tag the customer already carries is returned as it is, with 200. An unknown "
                "`tag_id` is a 400 on `tag_id` (`unknown_tag`), an archived one too (`tag_archived`); a "
                "customer outside your tenant or data scope is 404. A customer at the tenant's tag limit "
                "(`/v1/tag-settings`, default 10) gets 409 `tag_limit_reached` with `limit`. A tag of an "
                "exclusive group replaces the customer's other tag of that group.",
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
