"""/v1/customer-fields: custom field definitions (tenant admins define; everyone reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

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
from crm_gateway.problems import etag, rename_fields
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import customers_pb2 as pb

router = APIRouter(prefix="/v1/customer-fields", tags=["customer fields"])
field_names = rename_fields({}, strip_prefix="field.")

FieldType = Literal["text", "number", "date", "single_select", "multi_select", "boolean"]


class CustomerField(Resource):
    key: str = Field(description="Name in `custom_fields` and in `cf.<key>` list filters")
    label: str
    type: str = Field(description="text, number, date, single_select, multi_select or boolean")
    required: bool
    options: list[str] = Field(description="Choices of a select field")
    pattern: str | None = Field(description="text: a regular expression the whole value must match")
    min: str | None = Field(description="number: least value; date: earliest YYYY-MM-DD; text: least length")
    max: str | None = Field(description="number: greatest value; date: latest YYYY-MM-DD; text: greatest length")
    version: int
    created_at: datetime | None
    updated_at: datetime | None


def field_out(m: pb.CustomerField) -> CustomerField:
    return CustomerField(
        key=m.key, label=m.label, type=m.type, required=m.required, options=list(m.options),
        pattern=m.pattern or None, min=m.min or None, max=m.max or None, version=m.version,
        created_at=timestamp(m.created_at), updated_at=timestamp(m.updated_at),
    )


class CustomerFieldCreate(RequestBody):
    key: str = Field(max_length=40, examples=["contract_tier"])
    label: Name = Field(max_length=100)
    type: FieldType
    required: bool = False
    options: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=200)
    pattern: str | None = Field(None, max_length=200)
    min: str | None = Field(None, max_length=40)
    max: str | None = Field(None, max_length=40)


class CustomerFieldPatch(RequestBody):
    label: Name | None = Field(None, max_length=100)
    required: bool | None = None
    options: list[Annotated[str, Field(max_length=100)]] | None = Field(None, max_length=200)
    pattern: str | None = Field(None, max_length=200)
    min: str | None = Field(None, max_length=40)
    max: str | None = Field(None, max_length=40)


def _single(response: Response, message: pb.CustomerField) -> CustomerField:
    response.headers["ETag"] = etag(message.version)
    return field_out(message)


@router.get(
    "",
    response_model=ItemList[CustomerField],
    **operation(operation_id="listCustomerFields", summary="List custom field definitions",
                scopes=[Scope.CUSTOMERS_READ]),
)
async def list_fields(caller: CallerDep, services: BackendsDep) -> ItemList[CustomerField]:
    reply = await caller.call(services.customers.ListCustomerFields, pb.ListCustomerFieldsRequest())
    return ItemList[CustomerField](items=[field_out(f) for f in reply.items])


@router.post(
    "",
    response_model=CustomerField,
    **operation(operation_id="createCustomerField", summary="Define a custom field",
                scopes=[Scope.CUSTOMERS_ADMIN], errors=[*WRITE_ERRORS, 409], status_code=201),
)
async def create_field(body: CustomerFieldCreate, response: Response, caller: CallerDep,
                       services: BackendsDep) -> CustomerField:
    field_input = pb.CustomerFieldInput(
        key=body.key, label=body.label, type=body.type, required=body.required, options=body.options,
        options_set=True, pattern=body.pattern or "", min=body.min or "", max=body.max or "",
    )
    reply = await caller.call(services.customers.CreateCustomerField,
                              pb.CreateCustomerFieldRequest(field=field_input), rename=field_names)
    response.headers["Location"] = f"{router.prefix}/{reply.key}"
    return _single(response, reply)


@router.get(
    "/{key}",
    response_model=CustomerField,
    **operation(operation_id="getCustomerField", summary="Get a custom field definition",
                scopes=[Scope.CUSTOMERS_READ], errors=[404]),
)
async def get_field(key: str, response: Response, caller: CallerDep, services: BackendsDep) -> CustomerField:
    return _single(response, await caller.call(services.customers.GetCustomerField,
                                               pb.GetCustomerFieldRequest(key=key)))


@router.patch(
    "/{key}",
    response_model=CustomerField,
    **operation(operation_id="updateCustomerField", summary="Change a custom field definition",
                scopes=[Scope.CUSTOMERS_ADMIN], errors=[*WRITE_ERRORS, 404, 412],
                description="Key and type cannot change. `If-Match` is optional; null clears pattern/min/max."),
)
async def update_field(
    key: str, body: CustomerFieldPatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> CustomerField:
    sent = body.model_dump(exclude_unset=True)
    field_input = pb.CustomerFieldInput()
    for name in ("label", "pattern", "min", "max"):
        if name in sent:
            setattr(field_input, name, sent[name] or "")
    if sent.get("required") is not None:
        field_input.required = sent["required"]
    if sent.get("options") is not None:
        field_input.options.extend(sent["options"])
        field_input.options_set = True
    reply = await caller.call(
        services.customers.UpdateCustomerField,
        pb.UpdateCustomerFieldRequest(key=key, field=field_input,
                                      expected_version=expected_version(if_match) if if_match else 0),
        rename=field_names,
    )
    return _single(response, reply)


@router.delete(
    "/{key}",
    response_model=CustomerField,
    **operation(operation_id="deleteCustomerField", summary="Delete a custom field definition",
                scopes=[Scope.CUSTOMERS_ADMIN], errors=[404],
                description="Returns the definition as it was. Stored values of the field are ignored from then "
                            "on and dropped on the next write."),
)
async def delete_field(key: str, caller: CallerDep, services: BackendsDep) -> CustomerField:
    reply = await caller.call(services.customers.DeleteCustomerField, pb.DeleteCustomerFieldRequest(key=key))
    return field_out(reply.field)
