"""/v1/customers: HTTP <-> crm.customers.v1.CustomerService."""

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
from crm_gateway.problems import etag, rename_fields
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import customers_pb2 as pb

router = APIRouter(prefix="/v1/customers", tags=["customers"])

# The service may name fields by their proto path ("customer.mobile").
customer_fields = rename_fields({}, strip_prefix="customer.")


class Customer(Resource):
    id: str
    code: str = Field(description="Human-readable code, unique in the tenant")
    name: str
    type: str = Field(description='"individual" or "enterprise"')
    industry: str
    region: str
    mobile: str = Field(description="E.164; masked unless the caller may reveal it")
    email: str
    owner_id: str
    status: str
    version: int = Field(description="Increases with every change; the ETag carries it")
    created_at: datetime | None
    updated_at: datetime | None
    created_by: str
    updated_by: str


def customer_out(message: Any) -> Customer:
    return Customer(
        id=message.id, code=message.code, name=message.name, type=message.type, industry=message.industry,
        region=message.region, mobile=message.mobile, email=message.email, owner_id=message.owner_id,
        status=message.status, version=message.version, created_at=timestamp(message.created_at),
        updated_at=timestamp(message.updated_at), created_by=message.created_by, updated_by=message.updated_by,
    )


class CustomerCreate(RequestBody):
    """Which fields are required and how they are validated is the customers service's rule."""

    code: str | None = Field(None, description="Generated when absent")
    name: str | None = None
    type: str | None = Field(None, description='"individual" or "enterprise" (default)')
    industry: str | None = None
    region: str | None = None
    mobile: str | None = None
    email: str | None = None
    owner_id: str | None = None
    status: str | None = None


class CustomerPatch(CustomerCreate):
    """Only the fields sent change; `null` clears a field."""


class CustomerListQuery(PageQuery):
    order_by: str = Field("", description='"created_at desc" (default), "created_at asc" or "name asc"')
    industry: str = Field("", description="Exact industry")
    status: str = Field("", description="Exact status")
    q: str = Field("", description="Free text: name, code, mobile or email")


def created_input(body: CustomerCreate) -> Any:
    # Absent and null both mean "not sent" on create.
    return pb.CustomerInput(**{k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None})


def patch_input(body: CustomerPatch) -> Any:
    # Sent fields only; null clears the field.
    return pb.CustomerInput(**{k: v if v is not None else "" for k, v in body.model_dump(exclude_unset=True).items()})


def _single(response: Response, customer: Customer) -> Customer:
    response.headers["ETag"] = etag(customer.version)
    return customer


@router.get(
    "",
    response_model=Page[Customer],
    **operation(operation_id="listCustomers", summary="List customers", scopes=[Scope.CUSTOMERS_READ],
                errors=[400]),
)
async def list_customers(
    query: Annotated[CustomerListQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Page[Customer]:
    reply = await caller.call(
        services.customers.ListCustomers,
        pb.ListCustomersRequest(
            page_size=query.size, page_token=query.page_token, order_by=query.order_by,
            industry=query.industry, status=query.status, q=query.q,
        ),
    )
    return page([customer_out(c) for c in reply.items], reply.next_page_token)


@router.post(
    "",
    response_model=Customer,
    **operation(operation_id="createCustomer", summary="Create a customer", scopes=[Scope.CUSTOMERS_WRITE],
                errors=[*WRITE_ERRORS, 409], status_code=201),
)
async def create_customer(body: CustomerCreate, response: Response, caller: CallerDep,
                          services: BackendsDep) -> Customer:
    reply = await caller.call(
        services.customers.CreateCustomer, pb.CreateCustomerRequest(customer=created_input(body)),
        rename=customer_fields,
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return _single(response, customer_out(reply))


@router.get(
    "/{customer_id}",
    response_model=Customer,
    **operation(operation_id="getCustomer", summary="Get a customer", scopes=[Scope.CUSTOMERS_READ],
                errors=[404]),
)
async def get_customer(customer_id: str, response: Response, caller: CallerDep, services: BackendsDep) -> Customer:
    reply = await caller.call(services.customers.GetCustomer, pb.GetCustomerRequest(id=customer_id))
    return _single(response, customer_out(reply))


@router.patch(
    "/{customer_id}",
    response_model=Customer,
    **operation(
        operation_id="updateCustomer", summary="Update a customer's fields", scopes=[Scope.CUSTOMERS_WRITE],
        errors=[*WRITE_ERRORS, 404, 409, 412, 428],
        description="Send the ETag of the version you read in `If-Match`; a stale one gets 412.",
    ),
)
async def update_customer(
    customer_id: str,
    body: CustomerPatch,
    response: Response,
    caller: CallerDep,
    services: BackendsDep,
    if_match: Annotated[str | None, Header(description='ETag of the version you read, e.g. W/"3"')] = None,
) -> Customer:
    version = expected_version(if_match)
    reply = await caller.call(
        services.customers.UpdateCustomer,
        pb.UpdateCustomerRequest(id=customer_id, customer=patch_input(body), expected_version=version),
        rename=customer_fields,
    )
    return _single(response, customer_out(reply))
