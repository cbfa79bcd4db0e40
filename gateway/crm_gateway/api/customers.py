"""/v1/customers: HTTP <-> crm.customers.v1.CustomerService (records, soft delete and restore,
status changes with history)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any, Literal

import grpc
from fastapi import APIRouter, Header, Query, Request, Response
from google.protobuf.struct_pb2 import Struct
from pydantic import ConfigDict, Field, field_validator

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
from crm_gateway.api.hot_reads import HotRead
from crm_gateway.api.reports import CustomerValueFigures, figures_out
from crm_gateway.api.tags import check_tag_filter
from crm_gateway.clients import Backends, Caller
from crm_gateway.problems import Problem, UpstreamError, etag, keep_field, rename_fields
from crm_platform.auth import Scope
from crm_platform.grpc_client import call_metadata
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.reporting.v1 import reporting_pb2
from crm_proto.crm.reporting.v1 import reports_pb2 as reports_pb

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/customers", tags=["customers"])

# The service may name fields by their proto path ("customer.mobile").
customer_fields = rename_fields({}, strip_prefix="customer.")

CUSTOM_FILTER_PREFIX = "cf."
# Filters sent to ListCustomersRequest under their own names (fields 20-34; the customers
# service's `list_query.ADDED_FILTERS`).
ADDED_FILTERS = (
    "code", "contact_person", "mobile", "phone", "email", "credit_code", "updated_after", "updated_before",
    "employees_min", "employees_max", "annual_revenue_min", "annual_revenue_max", "annual_revenue_currency",
    "acquired_after", "acquired_before",
)


def struct_json(value: Struct) -> dict[str, Any]:
    """A Struct as `plain_json(MessageToDict(value))` gives it, read directly (the general walk
    cost most of a list page's conversion)."""
    return {key: _value_json(item) for key, item in value.fields.items()}


def _value_json(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number: float = value.number_value
        return int(number) if number.is_integer() else number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_json(value.struct_value)
    if kind == "list_value":
        return [_value_json(item) for item in value.list_value.values]
    return None


def plain_json(value: Any) -> Any:
    """Struct numbers are doubles; whole ones are shown as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    return value


class PossibleDuplicate(Resource):
    """A likely or possible duplicate (docs/customers.md, "Duplicates"). One outside your data
    scope is reported once, without id, code or name, as `outside_scope: true`."""

    id: str | None = Field(default=None, exclude_if=lambda value: value is None)
    code: str | None = Field(default=None, exclude_if=lambda value: value is None)
    name: str | None = Field(default=None, exclude_if=lambda value: value is None)
    matched_on: list[str] = Field(description="credit_code, resident_id, bank_card, email, phone, name (same name "
                                              "after removing legal suffixes), name_similar (one edit apart, or "
                                              "with and without its leading place), contact_person, email_domain, "
                                              "region")
    confidence: float = Field(ge=0, le=1)
    likely: bool = Field(description="confidence >= 0.6: what the `block` policy refuses and scans group; "
                                     "otherwise only a possible duplicate")
    conflicts: list[str] | None = Field(
        default=None, exclude_if=lambda value: not value,
        description="Identifiers both hold with different values (credit_code, resident_id, bank_card)")
    outside_scope: bool | None = Field(default=None, exclude_if=lambda value: value is None)


DUPLICATES_NOTE = (
    "Likely and possible duplicates among the tenant's live customers come back in `possible_duplicates`. When the "
    "tenant's `duplicate_policy` is `block`, a write with a likely one is a 409 `duplicate_customer` listing them "
    "in `duplicates` (nothing is written), unless `allow_duplicates: true` is sent by a holder of `customers:admin` "
    "(403 otherwise)."
)


def duplicate_out(d: Any) -> PossibleDuplicate:
    found: dict[str, Any] = {"matched_on": list(d.matched_on), "confidence": round(d.confidence, 3),
                             "likely": d.likely, "conflicts": list(d.conflicts)}
    if d.outside_scope:
        return PossibleDuplicate(**found, outside_scope=True)
    return PossibleDuplicate(id=d.id, code=d.code, name=d.name, **found)


def duplicates_out(message: Any) -> list[PossibleDuplicate]:
    return [duplicate_out(d) for d in message.possible_duplicates]


class Customer(Resource):
    id: str
    code: str = Field(description="Human-readable code, unique in the tenant (generated from the tenant's pattern)")
    name: str
    type: str = Field(description='"individual" or "enterprise"')
    contact_person: str
    mobile: str = Field(description="E.164")
    phone: str = Field(description="E.164; a landline keeps its area code")
    email: str
    industry: str = Field(description="As written: a label or code of the tenant's industry dictionary")
    region: str = Field(description='Path of region labels, e.g. "华北/北京"')
    source: str = Field(description="Code from the tenant's source dictionary")
    first_contact_date: str | None = Field(description="YYYY-MM-DD")
    owner_id: str
    owner_name: str = Field(description="Read-only: the owner's display name (empty while unknown, or when "
                                        "`owner_id` is hidden or masked for you)")
    status: str = Field(description="potential, intent, won or lost; change it with :change-status")
    employees: int | None
    annual_revenue: str | None = Field(description="Decimal string")
    annual_revenue_currency: str | None = Field(description="ISO 4217")
    needs: str
    notes: str
    credit_code: str = Field(description="Unified social credit code (GB 32100-2015)")
    custom_fields: dict[str, Any] = Field(description="Values of the tenant's custom fields, by key")
    version: int = Field(description="Increases with every change; the ETag carries it")
    created_at: datetime | None
    updated_at: datetime | None
    created_by: str
    updated_by: str
    created_by_name: str = Field(description="Read-only: `created_by`'s display name when a user known by name")
    updated_by_name: str = Field(description="Read-only: `updated_by`'s display name when a user known by name")
    deleted_at: datetime | None = Field(None, description="Set while soft-deleted (admins with show_deleted)")
    resident_id: str | None = Field(
        None, description='Resident ID, masked ("110***********1234"); plaintext only via :reveal'
    )
    bank_card: str | None = Field(
        None, description='Bank card, masked ("6222 **** **** 1234"); plaintext only via :reveal'
    )
    annual_spend: dict[str, str] | None = Field(
        None, description="Currency (ISO 4217) -> decimal string: confirmed and paid orders dated in the last 365 "
                          "days (`{}` without orders), on every customer reply. Read-only; null when your role's field "
                          "policies hide it"
    )
    lifetime_value: dict[str, str] | None = Field(
        None, description="Currency -> decimal string: all confirmed and paid orders. Read-only; null when hidden"
    )
    value: CustomerValueFigures | None = Field(
        default=None, exclude_if=lambda value: value is None,
        description="`GET /v1/customers/{id}` only: customer value from reporting (docs/reporting.md, \"Customer "
                    "value\"): 12-month and lifetime spend, orders, average order value, predicted 3-year value, "
                    "segment and RFM scores with the reason, in the value rules' currency. Absent without counted "
                    "orders in that currency, when your field policies hide the spend fields, or while reporting "
                    "is unavailable",
    )
    tag_ids: list[str] | None = Field(
        default=None, exclude_if=lambda value: value is None,
        description="Lists only: the ids of the tags the customer carries (GET /v1/tags names them)",
    )
    possible_duplicates: list[PossibleDuplicate] | None = Field(
        default=None, exclude_if=lambda value: not value,
        description="Create and update replies only, and only when some were found: likely duplicates among the "
                    "tenant's live customers (the tenant's `duplicate_policy` is `warn`, or the write sent "
                    "`allow_duplicates`)",
    )


def customer_reply(message: Any) -> dict[str, Any]:
    """The one mapping from a `crm.customers.v1.Customer` to the REST `Customer`: its fields in the
    model's order, as values the model holds (hot reads send them as JSON at once, `json_reply`;
    tests/gateway/test_customer_reply.py checks that the model gives the same document)."""
    return {
        "id": message.id, "code": message.code, "name": message.name, "type": message.type,
        "contact_person": message.contact_person, "mobile": message.mobile, "phone": message.phone,
        "email": message.email, "industry": message.industry, "region": message.region, "source": message.source,
        "first_contact_date": message.first_contact_date or None, "owner_id": message.owner_id,
        "owner_name": message.owner_name, "status": message.status,
        "employees": message.employees if message.HasField("employees") else None,
        "annual_revenue": message.annual_revenue or None,
        "annual_revenue_currency": message.annual_revenue_currency or None,
        "needs": message.needs, "notes": message.notes, "credit_code": message.credit_code,
        "custom_fields": struct_json(message.custom_fields),
        "version": message.version, "created_at": timestamp(message.created_at),
        "updated_at": timestamp(message.updated_at), "created_by": message.created_by,
        "updated_by": message.updated_by, "created_by_name": message.created_by_name,
        "updated_by_name": message.updated_by_name,
        "deleted_at": timestamp(message.deleted_at) if message.HasField("deleted_at") else None,
        "resident_id": message.resident_id or None, "bank_card": message.bank_card or None,
        "annual_spend": dict(message.annual_spend.amounts) if message.HasField("annual_spend") else None,
        "lifetime_value": dict(message.lifetime_value.amounts) if message.HasField("lifetime_value") else None,
    }


def customer_out(message: Any) -> Customer:
    return Customer.model_validate(customer_reply(message))


class CustomerCreate(RequestBody):
    """Which fields are required and how they are validated is the customers service's rule."""

    # A valid body in the document, for readers and for the API fuzzer's examples phase.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "华北精密机械有限公司", "contact_person": "李雷", "mobile": "13800138000",
         "email": "li.lei@example.cn", "notes": "Met at the Shanghai fair.\nWants a quote for Q3."},
    ]})

    code: str | None = Field(None, description="Generated from the tenant's code pattern when absent")
    name: Name | None = None
    type: str | None = Field(None, description='"individual" or "enterprise" (default)')
    contact_person: Name | None = None
    mobile: str | None = Field(None, description="Chinese mobiles: 11 digits; others with their + prefix")
    phone: str | None = Field(None, description="Landline with area code (010-12345678) or any number")
    email: str | None = None
    industry: str | None = None
    region: str | None = Field(None, description='A region code, label or path ("华北/北京")')
    source: str | None = Field(None, description="A code or label of the source dictionary")
    first_contact_date: str | None = Field(None, description="YYYY-MM-DD")
    owner_id: str | None = None
    status: str | None = Field(None, description="Initial status (default potential)")
    employees: int | None = Field(None, ge=0, le=10_000_000)
    annual_revenue: str | None = Field(None, description='Decimal string, e.g. "1250000.00"')
    annual_revenue_currency: str | None = Field(None, description="ISO 4217 (default CNY)")
    needs: Multiline | None = None
    notes: Multiline | None = None
    credit_code: str | None = Field(None, description="Unified social credit code, checked (GB 32100-2015)")
    custom_fields: dict[str, Any] | None = Field(None, description="Custom field values by key; null clears one")
    resident_id: str | None = Field(None, description="Resident ID (GB 11643, checked); stored encrypted")
    bank_card: str | None = Field(None, description="Bank card number (12-19 digits, Luhn); stored encrypted")
    allow_duplicates: bool | None = Field(
        None, description="When the tenant blocks duplicates (409 `duplicate_customer`): save anyway. Needs "
                          "`customers:admin`; without duplicates it changes nothing"
    )


class CustomerPatch(CustomerCreate):
    """Only the fields sent change; `null` clears a field."""


class CustomerListQuery(PageQuery):
    model_config = ConfigDict(extra="allow")

    order_by: str = Field(
        "", description='"<created_at|updated_at|name|code|status|industry|region> [asc|desc]"; default '
                        '"created_at desc". Sorting by a field your role hides is 400 `field_hidden`.'
    )
    include_total: bool = Field(
        False, description="Also count the matches over every page: `total_size`, exact up to 10,000; above "
                           "that `total_size` is 10000 and `total_size_capped` is true"
    )
    status: str = Field("", description="Exact status")
    owner_id: str = Field("", description="Owner's user id")
    industry: str = Field("", description="Exact industry")
    region: str = Field("", description='Region prefix: "华北" matches "华北/北京"')
    source: str = Field("", description="Source code or label")
    type: str = Field("", description='"individual" or "enterprise"')
    created_after: str = Field("", description="RFC 3339 timestamp or YYYY-MM-DD (inclusive)")
    created_before: str = Field("", description="RFC 3339 timestamp or YYYY-MM-DD (exclusive)")
    first_contact_after: str = Field("", description="YYYY-MM-DD (inclusive)")
    first_contact_before: str = Field("", description="YYYY-MM-DD (inclusive)")
    q: str = Field("", description="Free text: name, code, contact person, mobile, phone, email or credit code")
    show_deleted: bool = Field(False, description="Include soft-deleted customers (needs customers:admin)")
    resident_id: str = Field("", description="Exact resident ID (matched by blind index)")
    bank_card: str = Field("", description="Exact bank card number (matched by blind index)")
    tag_id: list[str] = Field(
        default_factory=list,
        description="A tag's id; repeat it or join ids with commas (as a saved view holds them) for several: "
                    "the customer carries all of them (at most 10). Needs tags:read too; an unknown or malformed "
                    "id is a 400 on `tag_id`.",
    )
    ids: list[str] = Field(
        default_factory=list,
        description="Only these customers: ids, repeated or joined with commas (at most 500); an id outside "
                    "your tenant or data scope matches nothing",
    )

    report: str = Field("", description="With `report_cell`: a report run's `cell_report` (docs/reporting.md, "
                                        "\"Click-throughs\")")
    report_cell: str = Field("", description="A report cell's `report_cell` filter: only the customers behind that "
                                             "cell, computed again under your own access (needs `reports:read` too; "
                                             "at most 10,000, else 400 `too_many_customers`)")
    segment_id: str = Field("", description="A saved segment's id (`/v1/segments`): its tags, filters and value "
                                            "metrics, ANDed with the other filters; one you cannot read is a 400 "
                                            "`unknown_segment` on `segment_id`")
    code: str = Field("", description="Exact customer code")
    contact_person: str = Field("", description="Exact contact person (trimmed, full-width folded)")
    mobile: str = Field("", description='Exact mobile in any format the field accepts ("138 0013 8000" finds '
                                        '"+8613800138000"); `invalid_phone` / `not_mobile` when it is not one')
    phone: str = Field("", description="Exact phone in any accepted format (010-62345678 finds +861062345678)")
    email: str = Field("", description="Exact email, case-insensitive; `invalid_email` when it is not one")
    credit_code: str = Field("", description="Exact unified social credit code (any case; checked like a write)")
    updated_after: str = Field("", description="RFC 3339 timestamp or YYYY-MM-DD (inclusive)")
    updated_before: str = Field("", description="RFC 3339 timestamp or YYYY-MM-DD (exclusive)")
    employees_min: str = Field("", description="Whole number, inclusive")
    employees_max: str = Field("", description="Whole number, inclusive")
    annual_revenue_min: str = Field("", description='Decimal string, inclusive ("1000000.00"); needs '
                                                    "`annual_revenue_currency`")
    annual_revenue_max: str = Field("", description="Decimal string, inclusive; needs `annual_revenue_currency`")
    annual_revenue_currency: str = Field("", description="ISO 4217: the currency of the revenue range (amounts "
                                                         "in different currencies are never compared); alone, "
                                                         "an exact filter")
    acquired_after: str = Field("", description="YYYY-MM-DD (inclusive): acquired on or after, the day being the "
                                                "customer's `first_contact_date` or, when it has none, the day it was "
                                                "created (UTC); what dashboards count as new customers")
    acquired_before: str = Field("", description="YYYY-MM-DD (inclusive): acquired on or before (see `acquired_after`)")

    @field_validator("tag_id", "ids")
    @classmethod
    def _split_tag_ids(cls, value: list[str]) -> list[str]:
        return [part.strip() for item in value for part in item.split(",") if part.strip()]


def _text_fields(values: dict[str, Any], *, clear_nulls: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("custom_fields", "allow_duplicates"):
            continue
        if value is None:
            if clear_nulls:
                out[key] = ""
            continue
        out[key] = str(value)
    return out


def _custom(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("custom_fields") is None:
        return {}
    struct = Struct()
    struct.update(values["custom_fields"])
    return {"custom_fields": struct}


def created_input(body: CustomerCreate) -> Any:
    # Absent and null both mean "not sent" on create.
    sent = body.model_dump(exclude_unset=True)
    return pb.CustomerInput(**_text_fields(sent, clear_nulls=False), **_custom(sent))


def patch_input(body: CustomerPatch) -> Any:
    # Sent fields only; null clears the field.
    sent = body.model_dump(exclude_unset=True)
    return pb.CustomerInput(**_text_fields(sent, clear_nulls=True), **_custom(sent))


def _single(response: Response, customer: Customer) -> Customer:
    response.headers["ETag"] = etag(customer.version)
    return customer


def _custom_filters(request: Request, query: CustomerListQuery) -> dict[str, str]:
    """`cf.<key>=value` parameters; any other unknown parameter is a 400, as in every list."""
    filters: dict[str, str] = {}
    errors = []
    for name in query.model_extra or {}:
        if name.startswith(CUSTOM_FILTER_PREFIX) and len(name) > len(CUSTOM_FILTER_PREFIX):
            filters[name[len(CUSTOM_FILTER_PREFIX):]] = request.query_params.get(name, "")
        else:
            errors.append({"field": name, "code": "unknown_field", "message": ""})
    if errors:
        raise Problem(400, "invalid_input", errors=errors, params={"count": len(errors)})
    return filters


async def report_cell_ids(caller: Any, services: Any, report: str, cell: str) -> list[str] | None:
    """A report cell's customers (reporting computes them under the caller's access), or None
    without a cell; one of the two parameters alone is a 400 on the missing one."""
    if not report and not cell:
        return None
    missing = [{"field": name, "code": "required", "message": "report and report_cell go together"}
               for name, value in (("report", report), ("report_cell", cell)) if not value]
    if missing:
        raise Problem(400, "invalid_input", errors=missing, params={"count": len(missing)})
    reply = await caller.call(services.reports.ListReportCellCustomers, reports_pb.ListReportCellCustomersRequest(
        report=report, report_cell=cell))
    return list(reply.customer_ids)


def list_request(query: CustomerListQuery, custom: dict[str, str], cell_ids: list[str] | None = None) -> Any:
    """The list's filters as the service's request (mass changes send the same filters)."""
    return pb.ListCustomersRequest(
        page_size=query.size, page_token=query.page_token, order_by=query.order_by,
        industry=query.industry, status=query.status, q=query.q, owner_id=query.owner_id, region=query.region,
        source=query.source, type=query.type, created_after=query.created_after,
        created_before=query.created_before, first_contact_after=query.first_contact_after,
        first_contact_before=query.first_contact_before, show_deleted=query.show_deleted, custom_fields=custom,
        resident_id=query.resident_id, bank_card=query.bank_card, tag_ids=query.tag_id, ids=query.ids,
        include_total=query.include_total, segment_id=query.segment_id,
        report_cell_ids=cell_ids or [], report_cell_set=cell_ids is not None,
        **{name: getattr(query, name) for name in ADDED_FILTERS},
    )


class CustomerPage(Page[Customer]):
    total_size: int | None = Field(
        None, exclude_if=lambda value: value is None,
        description="With include_total: matches over every page, counted up to 10,000",
    )
    total_size_capped: bool | None = Field(
        None, exclude_if=lambda value: value is None,
        description="With include_total: true when there are more than `total_size` matches",
    )


@router.get(
    "",
    response_model=CustomerPage,
    **operation(operation_id="listCustomers", summary="List customers", scopes=[Scope.CUSTOMERS_READ],
                errors=[400],
                description="Filters combine with AND. Custom fields filter as `cf.<key>=value` (exact; a multi "
                            "select matches when it contains the value); number and date custom fields also as "
                            "`cf.<key>_min` / `cf.<key>_max` (inclusive). A filter on a field your role hides is "
                            "400 `field_hidden`; a value the field could not hold is a 400 naming the parameter "
                            "with the field's own code (`invalid_phone`, `invalid_email`, `invalid_decimal`, ...)."),
)
async def list_customers(
    request: Request, query: Annotated[CustomerListQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Response:
    custom = _custom_filters(request, query)
    await check_tag_filter(caller, services, query.tag_id, "tag_id")
    cell_ids = await report_cell_ids(caller, services, query.report, query.report_cell)
    return await read_page(caller, services, query, custom, cell_ids)


async def read_page(caller: Caller, services: Backends, query: CustomerListQuery, custom: dict[str, str],
                    cell_ids: list[str] | None) -> Response:
    """A page of the list, its filters checked (`list_customers`, and the hot read of a plain page)."""
    reply = await caller.call(
        services.customers.ListCustomers, list_request(query, custom, cell_ids),
        rename=rename_fields({}, strip_prefix="custom_fields."),
    )
    return json_reply(customer_page(reply, include_total=query.include_total))


async def hot_page(caller: Caller, services: Backends, arguments: dict[str, str]) -> Response:
    """`HotRead` of a page with at most `page_size` and `page_token`: nothing to check (no filter,
    no tag, no report cell), so the query model is made from them and read as `list_customers` does."""
    return await read_page(caller, services, CustomerListQuery.model_validate(arguments), {}, None)


def customer_page(reply: Any, *, include_total: bool = False) -> dict[str, Any]:
    """A `ListCustomersResponse` as the REST `CustomerPage` (each item with its `tag_ids`)."""
    page: dict[str, Any] = {"items": [customer_reply(c) | {"tag_ids": list(c.tag_ids)} for c in reply.items]}
    if reply.next_page_token:
        page["next_page_token"] = reply.next_page_token
    if include_total:
        page |= {"total_size": reply.total_size, "total_size_capped": reply.total_size_capped}
    return page


@router.post(
    "",
    response_model=Customer,
    **operation(operation_id="createCustomer", summary="Create a customer", scopes=[Scope.CUSTOMERS_WRITE],
                errors=[*WRITE_ERRORS, 409], status_code=201, description=DUPLICATES_NOTE),
)
async def create_customer(body: CustomerCreate, response: Response, caller: CallerDep,
                          services: BackendsDep) -> Customer:
    reply = await caller.call(
        services.customers.CreateCustomer,
        pb.CreateCustomerRequest(customer=created_input(body), allow_duplicates=bool(body.allow_duplicates)),
        rename=customer_fields,
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    created = customer_out(reply)
    created.possible_duplicates = duplicates_out(reply)
    return _single(response, created)


@router.get(
    "/{customer_id}",
    response_model=Customer,
    **operation(operation_id="getCustomer", summary="Get a customer", scopes=[Scope.CUSTOMERS_READ],
                errors=[404]),
)
async def get_customer(
    customer_id: str, caller: CallerDep, services: BackendsDep,
    show_deleted: Annotated[bool, Query(description="Also find a soft-deleted customer (customers:admin)")] = False,
) -> Response:
    return await read_customer(caller, services, customer_id, show_deleted)


async def hot_customer(caller: Caller, services: Backends, arguments: dict[str, str]) -> Response:
    """`HotRead` of `get_customer` (`show_deleted` only as `true` or `false`)."""
    return await read_customer(caller, services, arguments["customer_id"],
                               arguments.get("show_deleted") == "true")


async def read_customer(caller: Caller, services: Backends, customer_id: str, show_deleted: bool) -> Response:
    # The record and its value figures are asked at once: the figures add no round trip to a read.
    value = (asyncio.ensure_future(_customer_value(caller, services, customer_id))
             if _may_read_value(caller) else None)
    try:
        reply = await caller.call(
            services.customers.GetCustomer, pb.GetCustomerRequest(id=customer_id, show_deleted=show_deleted)
        )
    except BaseException:
        if value is not None:
            value.cancel()
        raise
    customer = customer_reply(reply)
    figures = await value if value is not None else None
    if figures is not None:
        customer["value"] = figures
    return json_reply(customer, headers={"ETag": etag(reply.version)})


def _may_read_value(caller: Caller) -> bool:
    """A caller without `reports:read` is not asked about (reporting would refuse)."""
    return caller.principal is None or Scope.REPORTS_READ.value in caller.principal.scopes


async def _customer_value(caller: Caller, services: Backends, customer_id: str) -> CustomerValueFigures | None:
    """The value figures reporting computes (under the same token: its data scope and field
    policies). The record does not depend on them: reporting down leaves them out."""
    try:
        found = await caller.call(services.reporting.GetCustomerValue,
                                  reporting_pb2.GetCustomerValueRequest(customer_id=customer_id))
    except UpstreamError as exc:
        log.warning("customer value unavailable", extra={"error": exc.error.code})
        return None
    return figures_out(found.value) if found.found else None


@router.patch(
    "/{customer_id}",
    response_model=Customer,
    **operation(
        operation_id="updateCustomer", summary="Update a customer's fields", scopes=[Scope.CUSTOMERS_WRITE],
        errors=[*WRITE_ERRORS, 404, 409, 412, 428],
        description="Send the ETag of the version you read in `If-Match`; a stale one gets 412. " + DUPLICATES_NOTE
                    + " Checked against other customers when a key field (name, mobile, phone, email, credit code, "
                      "resident ID, bank card) changes.",
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
        pb.UpdateCustomerRequest(id=customer_id, customer=patch_input(body), expected_version=version,
                                 allow_duplicates=bool(body.allow_duplicates)),
        rename=customer_fields,
    )
    updated = customer_out(reply)
    updated.possible_duplicates = duplicates_out(reply)
    return _single(response, updated)


@router.delete(
    "/{customer_id}",
    response_model=Customer,
    **operation(
        operation_id="deleteCustomer", summary="Soft-delete a customer", scopes=[Scope.CUSTOMERS_WRITE],
        errors=[400, 404, 412, 428],
        description="The customer disappears from reads and lists until restored. Needs `If-Match`.",
    ),
)
async def delete_customer(
    customer_id: str,
    response: Response,
    caller: CallerDep,
    services: BackendsDep,
    if_match: Annotated[str | None, Header(description='ETag of the version you read, e.g. W/"3"')] = None,
) -> Customer:
    version = expected_version(if_match)
    reply = await caller.call(
        services.customers.DeleteCustomer, pb.DeleteCustomerRequest(id=customer_id, expected_version=version)
    )
    return _single(response, customer_out(reply))


@router.post(
    "/{customer_id}:restore",
    response_model=Customer,
    **operation(operation_id="restoreCustomer", summary="Restore a soft-deleted customer",
                scopes=[Scope.CUSTOMERS_WRITE], errors=[*WRITE_ERRORS, 404, 409]),
)
async def restore_customer(customer_id: str, response: Response, caller: CallerDep,
                           services: BackendsDep) -> Customer:
    reply = await caller.call(services.customers.RestoreCustomer, pb.RestoreCustomerRequest(id=customer_id))
    return _single(response, customer_out(reply))


class StatusChangeBody(RequestBody):
    status: Literal["potential", "intent", "won", "lost"]
    reason: Multiline = Field(min_length=1, max_length=500)


@router.post(
    "/{customer_id}:change-status",
    response_model=Customer,
    **operation(
        operation_id="changeCustomerStatus", summary="Change a customer's status, with a reason",
        scopes=[Scope.CUSTOMERS_WRITE], errors=[*WRITE_ERRORS, 404, 409, 412],
        description="Only the tenant's allowed transitions are accepted (409 `transition_not_allowed`, with "
                    "`allowed`). `If-Match` is optional.",
    ),
)
async def change_status(
    customer_id: str,
    body: StatusChangeBody,
    response: Response,
    caller: CallerDep,
    services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> Customer:
    version = expected_version(if_match) if if_match else 0
    reply = await caller.call(
        services.customers.ChangeCustomerStatus,
        pb.ChangeCustomerStatusRequest(id=customer_id, status=body.status, reason=body.reason,
                                       expected_version=version),
    )
    return _single(response, customer_out(reply))


class StatusChange(Resource):
    id: str
    from_status: str | None = Field(description="Absent for the status the customer was created with")
    to_status: str
    reason: str
    changed_by: str
    changed_by_name: str = Field(description="Read-only: `changed_by`'s display name when a user known by name")
    changed_at: datetime | None


@router.get(
    "/{customer_id}/status-history",
    response_model=ItemList[StatusChange],
    **operation(operation_id="listCustomerStatusHistory", summary="A customer's status changes, newest first",
                scopes=[Scope.CUSTOMERS_READ], errors=[404]),
)
async def status_history(customer_id: str, caller: CallerDep, services: BackendsDep) -> ItemList[StatusChange]:
    reply = await caller.call(services.customers.ListStatusHistory, pb.ListStatusHistoryRequest(id=customer_id))
    return ItemList[StatusChange](items=[
        StatusChange(id=c.id, from_status=c.from_status or None, to_status=c.to_status, reason=c.reason,
                     changed_by=c.changed_by, changed_by_name=c.changed_by_name, changed_at=timestamp(c.changed_at))
        for c in reply.items
    ])


SensitiveField = Literal["resident_id", "bank_card"]


class RevealBody(RequestBody):
    fields: list[SensitiveField] = Field(min_length=1, max_length=2, description="Which fields to reveal")


class Revealed(Resource):
    customer_id: str
    values: dict[str, str] = Field(description='Field -> plaintext ("" when the field is empty)')


def client_metadata(request: Request) -> tuple[tuple[str, str], ...]:
    """Where the request came from, for the service's audit: the proxy chain plus our peer."""
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for", "")
    chain = ", ".join(p for p in (forwarded, peer) if p)
    return (("x-forwarded-for", chain), ("x-client-user-agent", request.headers.get("user-agent", "")))


async def reveal(caller: Caller, services: Any, customer_id: str, fields: list[str],
                 client: tuple[tuple[str, str], ...]) -> Any:
    """RevealCustomer with the caller's metadata plus where the request came from (for the audit)."""
    try:
        return await services.customers.RevealCustomer(
            pb.RevealCustomerRequest(id=customer_id, fields=fields),
            metadata=call_metadata(caller.token, caller.locale) + client, timeout=caller.deadline,
        )
    except grpc.aio.AioRpcError as exc:
        raise UpstreamError.from_rpc(exc, "/crm.customers.v1.CustomerService/RevealCustomer", keep_field) from exc


@router.post(
    "/{customer_id}:reveal",
    response_model=Revealed,
    **operation(
        operation_id="revealCustomer", summary="Reveal the plaintext of a customer's sensitive fields",
        scopes=[Scope.CUSTOMERS_REVEAL], errors=[*WRITE_ERRORS, 404],
        description="Every call is audited (who, which fields, when, client, address) and emits "
                    "`crm.customer.revealed` (without the values). Reads elsewhere are always masked.",
    ),
)
async def reveal_customer(
    customer_id: str, body: RevealBody, request: Request, response: Response, caller: CallerDep,
    services: BackendsDep,
) -> Revealed:
    reply = await reveal(caller, services, customer_id, list(body.fields), client_metadata(request))
    response.headers["Cache-Control"] = "no-store"
    return Revealed(customer_id=reply.customer_id, values=dict(reply.values))


# The two hot reads (issue 9 §6) past FastAPI's dependency solving and parameter parsing, taken only
# when FastAPI's route would answer exactly the same (api/hot_reads.py); `create_app` puts them first.
# Ids and tokens as the text rule accepts them without escapes; page sizes as the query model parses them.
HOT_READS = (
    HotRead(r"/v1/customers/(?P<customer_id>[0-9A-Za-z_-]{1,100})", {"show_deleted": "true|false"},
            Scope.CUSTOMERS_READ, hot_customer),
    HotRead(r"/v1/customers", {"page_size": "[1-9][0-9]{0,8}", "page_token": "[0-9A-Za-z_.~-]{0,4096}"},
            Scope.CUSTOMERS_READ, hot_page),
)
