"""/v1/reports/*: read-only analytics (reporting)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from crm_gateway.api.common import BackendsDep, CallerDep, operation
from crm_gateway.api.dashboards import OBJECT_DOC, view_filters
from crm_platform.auth import Scope
from crm_proto.crm.reporting.v1 import reporting_pb2 as pb

router = APIRouter(prefix="/v1/reports", tags=["reports"])


class IndustryCount(BaseModel):
    industry: str
    customers: int


class CustomersByIndustry(BaseModel):
    rows: list[IndustryCount]
    total: int


@router.get(
    "/customers-by-industry",
    response_model=CustomersByIndustry,
    **operation(operation_id="getCustomersByIndustry", summary="Count the tenant's customers per industry",
                scopes=[Scope.REPORTS_READ]),
)
async def customers_by_industry(caller: CallerDep, services: BackendsDep) -> CustomersByIndustry:
    reply = await caller.call(services.reporting.GetCustomersByIndustry, pb.GetCustomersByIndustryRequest())
    return CustomersByIndustry(
        rows=[IndustryCount(industry=r.industry, customers=r.customers) for r in reply.rows], total=reply.total
    )


class SpendMonth(BaseModel):
    month: str = Field(description="YYYY-MM")
    currency: str = Field(description="ISO 4217")
    amount: str = Field(description="Decimal string")
    orders: int


class SpendReport(BaseModel):
    from_month: str
    to_month: str
    rows: list[SpendMonth]


SPEND_NOTE = (
    "Orders of kind `order` in status confirmed or paid, per currency (nothing is converted), from the "
    "`crm.order.recorded` projection. 403 `field_hidden` (with `fields`) when your role's field policies hide "
    "or mask {field}."
)


@router.get(
    "/spend",
    response_model=SpendReport,
    **operation(operation_id="getSpendReport", summary="Spend per month and currency", scopes=[Scope.REPORTS_READ],
                errors=[400], description=SPEND_NOTE.format(field="`annual_spend`")),
)
async def spend_report(
    caller: CallerDep, services: BackendsDep,
    from_month: Annotated[str, Query(description="YYYY-MM (inclusive); default 11 months before to_month")] = "",
    to_month: Annotated[str, Query(description="YYYY-MM (inclusive); default the current month")] = "",
    currency: Annotated[str, Query(description="ISO 4217; default every currency")] = "",
) -> SpendReport:
    reply = await caller.call(services.reporting.GetSpendReport, pb.GetSpendReportRequest(
        from_month=from_month, to_month=to_month, currency=currency))
    return SpendReport(from_month=reply.from_month, to_month=reply.to_month, rows=[
        SpendMonth(month=r.month, currency=r.currency, amount=r.amount, orders=r.orders) for r in reply.rows
    ])


class CustomerValueRow(BaseModel):
    customer_id: str
    lifetime_value: str = Field(description="Decimal string")
    orders: int
    last_ordered_on: str = Field(description="YYYY-MM-DD")


class CustomerValueReport(BaseModel):
    currency: str
    rows: list[CustomerValueRow]


@router.get(
    "/customer-value",
    response_model=CustomerValueReport,
    **operation(operation_id="getCustomerValueReport", summary="Top customers by lifetime value",
                scopes=[Scope.REPORTS_READ], errors=[400],
                description=SPEND_NOTE.format(field="`lifetime_value`")),
)
async def customer_value_report(
    caller: CallerDep, services: BackendsDep,
    currency: Annotated[str, Query(description="ISO 4217; default CNY")] = "",
    limit: Annotated[int, Query(ge=1, le=100, description="How many customers (default 10)")] = 10,
) -> CustomerValueReport:
    reply = await caller.call(services.reporting.GetCustomerValueReport,
                              pb.GetCustomerValueReportRequest(currency=currency, limit=limit))
    return CustomerValueReport(currency=reply.currency, rows=[
        CustomerValueRow(customer_id=r.customer_id, lifetime_value=r.lifetime_value, orders=r.orders,
                         last_ordered_on=r.last_ordered_on)
        for r in reply.rows
    ])


class FunnelStage(BaseModel):
    stage: str = Field(description="potential, intent or won")
    customers: int = Field(description="Cohort customers that reached this stage or a later one")
    conversion_from_previous: str = Field(description="customers / the previous stage's, 4 places; '' first")
    conversion_overall: str = Field(description="customers / the cohort, 4 places")
    median_days_in_stage: str = Field(description="Median days in this stage before the next, one decimal; '' "
                                                  "when nobody moved on, and for won")


class Funnel(BaseModel):
    from_: str = Field(alias="from")
    to: str
    cohort: int = Field(description="Customers first contacted in the range (first contact date, else created)")
    stages: list[FunnelStage]
    filter: dict[str, str] = Field(description="`GET /v1/customers` parameters of the cohort (first contact in "
                                               "the range; customers without a first contact date are not "
                                               "selected by it)")

    model_config = {"populate_by_name": True}


@router.get(
    "/funnel",
    response_model=Funnel,
    response_model_by_alias=True,
    **operation(operation_id="getSalesFunnel", summary="Sales funnel of a cohort, from the status history",
                scopes=[Scope.REPORTS_READ], errors=[400, 404],
                description="Customers first contacted in [from, to] and how many reached intent and won at any "
                            "time since (status history events, not today's status), in your data scope. 403 "
                            "`field_hidden` when your field policies hide `status`."),
)
async def sales_funnel(
    caller: CallerDep, services: BackendsDep,
    from_: Annotated[str, Query(alias="from", max_length=10, description="YYYY-MM-DD; default 12 months ago")] = "",
    to: Annotated[str, Query(max_length=10, description="YYYY-MM-DD, inclusive; default today")] = "",
    object_: Annotated[str, Query(alias="object", max_length=60, description=OBJECT_DOC)] = "all",
) -> Funnel:
    request = pb.GetFunnelRequest(to=to, object=object_, view_filters=await view_filters(caller, services, object_))
    setattr(request, "from", from_)
    reply = await caller.call(services.reporting.GetFunnel, request)
    return Funnel.model_validate({
        "from": getattr(reply, "from"), "to": reply.to, "cohort": reply.cohort,
        "filter": dict(sorted(reply.filter.items())),
        "stages": [FunnelStage(stage=s.stage, customers=s.customers,
                                      conversion_from_previous=s.conversion_from_previous,
                                      conversion_overall=s.conversion_overall,
                                      median_days_in_stage=s.median_days_in_stage) for s in reply.stages],
    })
