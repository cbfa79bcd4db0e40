"""/v1/customer-views: saved views of the customer list, per user
(HTTP <-> crm.customers.v1.CustomerViewService). Apply a view by listing `/v1/customers` with its
`filters` as query parameters and its `order_by`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    ItemList,
    Name,
    RequestBody,
    Resource,
    expected_version,
    operation,
    timestamp,
)
from crm_gateway.api.tags import check_saved_tag_filter
from crm_gateway.problems import etag, rename_fields
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import views_pb2 as pb

router = APIRouter(prefix="/v1/customer-views", tags=["customer views"])

view_fields = rename_fields({}, strip_prefix="view.")

FILTERS_DESCRIPTION = (
    "List query parameter -> value, as `/v1/customers` takes them: `q`, `status`, `owner_id`, `industry`, "
    "`region`, `source`, `type`, `created_after`, `created_before`, `first_contact_after`, "
    "`first_contact_before`, `acquired_after`, `acquired_before`, the exact and range filters (`code`, "
    "`mobile`, `email`, `updated_after`, `employees_min`...), `cf.<key>`, `tag_id` (tag ids joined by commas; "
    "the customer carries all of them). Validated as the list validates them (an unknown filter or a bad "
    "value is a 400 naming `filters.<name>`)."
)


class CustomerView(Resource):
    id: str
    name: str
    filters: dict[str, str] = Field(description=FILTERS_DESCRIPTION)
    order_by: str | None = Field(description='As the list\'s `order_by`, e.g. "updated_at desc"; null: default')
    columns: list[str] = Field(description="Visible columns in order (field names, `cf.<key>`); empty: default")
    version: int
    created_at: datetime | None
    updated_at: datetime | None


class CustomerViewCreate(RequestBody):
    name: Name = Field(min_length=1, max_length=100)
    filters: dict[str, str] = Field(default_factory=dict, description=FILTERS_DESCRIPTION)
    order_by: str | None = None
    columns: list[str] | None = Field(None, max_length=60)


class CustomerViewPatch(RequestBody):
    """Only the parts sent change; `filters` and `columns` are replaced whole."""

    name: Name | None = Field(None, min_length=1, max_length=100)
    filters: dict[str, str] | None = Field(None, description=FILTERS_DESCRIPTION)
    order_by: str | None = None
    columns: list[str] | None = Field(None, max_length=60)


def view_out(message: Any) -> CustomerView:
    return CustomerView(
        id=message.id, name=message.name, filters=dict(message.filters), order_by=message.order_by or None,
        columns=list(message.columns), version=message.version, created_at=timestamp(message.created_at),
        updated_at=timestamp(message.updated_at),
    )


def view_input(sent: dict[str, Any]) -> pb.CustomerViewInput:
    message = pb.CustomerViewInput()
    if sent.get("name") is not None:
        message.name = sent["name"]
    if "filters" in sent:
        message.filters_set = True
        message.filters.update(sent["filters"] or {})
    if "order_by" in sent:
        message.order_by = sent["order_by"] or ""
    if "columns" in sent:
        message.columns_set = True
        message.columns.extend(sent["columns"] or [])
    return message


def _single(response: Response, view: CustomerView) -> CustomerView:
    response.headers["ETag"] = etag(view.version)
    return view


@router.get(
    "",
    response_model=ItemList[CustomerView],
    **operation(operation_id="listCustomerViews", summary="The caller's saved customer views, by name",
                scopes=[Scope.CUSTOMERS_READ]),
)
async def list_views(caller: CallerDep, services: BackendsDep) -> ItemList[CustomerView]:
    reply = await caller.call(services.customer_views.ListCustomerViews, pb.ListCustomerViewsRequest())
    return ItemList[CustomerView](items=[view_out(v) for v in reply.items])


@router.post(
    "",
    response_model=CustomerView,
    **operation(operation_id="createCustomerView", summary="Save a customer view", scopes=[Scope.CUSTOMERS_READ],
                errors=[*WRITE_ERRORS, 409], status_code=201,
                description="409 `view_name_taken` when the caller already has a view with this name."),
)
async def create_view(body: CustomerViewCreate, response: Response, caller: CallerDep,
                      services: BackendsDep) -> CustomerView:
    await check_saved_tag_filter(caller, services, body.filters)
    reply = await caller.call(
        services.customer_views.CreateCustomerView,
        pb.CreateCustomerViewRequest(view=view_input(body.model_dump(exclude_unset=True) | {"filters": body.filters})),
        rename=view_fields,
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return _single(response, view_out(reply))


@router.get(
    "/{view_id}",
    response_model=CustomerView,
    **operation(operation_id="getCustomerView", summary="Get one of the caller's views",
                scopes=[Scope.CUSTOMERS_READ], errors=[404]),
)
async def get_view(view_id: str, response: Response, caller: CallerDep, services: BackendsDep) -> CustomerView:
    reply = await caller.call(services.customer_views.GetCustomerView, pb.GetCustomerViewRequest(id=view_id))
    return _single(response, view_out(reply))


@router.patch(
    "/{view_id}",
    response_model=CustomerView,
    **operation(operation_id="updateCustomerView", summary="Change a saved view", scopes=[Scope.CUSTOMERS_READ],
                errors=[*WRITE_ERRORS, 404, 409, 412, 428],
                description="Send the ETag you read in `If-Match`; a stale one gets 412."),
)
async def update_view(
    view_id: str, body: CustomerViewPatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description='ETag of the version you read, e.g. W/"3"')] = None,
) -> CustomerView:
    version = expected_version(if_match)
    await check_saved_tag_filter(caller, services, body.filters)
    reply = await caller.call(
        services.customer_views.UpdateCustomerView,
        pb.UpdateCustomerViewRequest(id=view_id, view=view_input(body.model_dump(exclude_unset=True)),
                                     expected_version=version),
        rename=view_fields,
    )
    return _single(response, view_out(reply))


@router.delete(
    "/{view_id}",
    response_model=CustomerView,
    **operation(operation_id="deleteCustomerView", summary="Delete a saved view (returns it)",
                scopes=[Scope.CUSTOMERS_READ], errors=[404]),
)
async def delete_view(view_id: str, caller: CallerDep, services: BackendsDep) -> CustomerView:
    reply = await caller.call(services.customer_views.DeleteCustomerView, pb.DeleteCustomerViewRequest(id=view_id))
    return view_out(reply.view)
