"""/v1/reports/*: read-only analytics (reporting)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from google.protobuf import json_format
from pydantic import BaseModel, Field

from crm_gateway.api.common import BackendsDep, CallerDep, Int32, RequestBody, operation
from crm_gateway.api.dashboards import OBJECT_DOC, segment_definition, view_filters
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
    filter: dict[str, str] = Field(description="`GET /v1/customers` parameters of exactly the cohort "
                                               "(`acquired_after` / `acquired_before`: first contact, else created)")

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
    request = pb.GetFunnelRequest(to=to, object=object_, view_filters=await view_filters(caller, services, object_),
                                  segment_definition=await segment_definition(caller, services, object_))
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


# -- customer value (docs/reporting.md, "Customer value") ------------------------------------------

class CustomerValueFigures(BaseModel):
    customer_id: str
    name: str = Field(description="Value analysis only; '' on the customer record")
    currency: str = Field(description="ISO 4217: the figures are orders in this currency only")
    annual_spend: str = Field(description="Decimal string: counted orders dated in the last 12 months")
    orders_12m: int
    lifetime_value: str = Field(description="Decimal string: all counted orders to date")
    orders: int
    first_ordered_on: str
    last_ordered_on: str
    average_order_value: str
    predicted_value: str = Field(description="Predicted value of the next 3 years (docs/reporting.md: the model)")
    segment: Literal["high_value", "potential", "normal", "low_value"]
    recency_score: int = Field(ge=1, le=5)
    frequency_score: int = Field(ge=1, le=5)
    monetary_score: int = Field(ge=1, le=5)
    reason_en: str
    reason_zh: str = Field(description="zh-CN")


def figures_out(message: pb.CustomerValueFigures) -> CustomerValueFigures:
    return CustomerValueFigures.model_validate(json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True))


class ValueAnalysis(BaseModel):
    currency: str
    items: list[CustomerValueFigures]
    total_size: int
    next_page_token: str


@router.get(
    "/value-analysis",
    response_model=ValueAnalysis,
    **operation(operation_id="getValueAnalysis", summary="Customer value analysis: spend, RFM, segment, prediction",
                scopes=[Scope.REPORTS_READ], errors=[400, 404],
                description="One row per customer with confirmed or paid orders in the currency, in your data scope. "
                            "403 `field_hidden` when your field policies hide `annual_spend` or `lifetime_value`."),
)
async def value_analysis(
    caller: CallerDep, services: BackendsDep,
    currency: Annotated[str, Query(max_length=3, description="ISO 4217; default the rules' currency")] = "",
    order_by: Annotated[str, Query(max_length=40, description="annual_spend|lifetime_value|predicted_value|"
                                   "last_ordered_on|orders_12m|average_order_value + asc|desc")] = "",
    segment: Annotated[str, Query(max_length=20, description="high_value|potential|normal|low_value")] = "",
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str, Query(max_length=40)] = "",
    object_: Annotated[str, Query(alias="object", max_length=60, description=OBJECT_DOC)] = "all",
) -> ValueAnalysis:
    reply = await caller.call(services.reporting.GetValueAnalysis, pb.GetValueAnalysisRequest(
        currency=currency, order_by=order_by, segment=segment, page_size=page_size, page_token=page_token,
        object=object_, view_filters=await view_filters(caller, services, object_),
        segment_definition=await segment_definition(caller, services, object_)))
    return ValueAnalysis(currency=reply.currency, items=[figures_out(v) for v in reply.items],
                         total_size=reply.total_size, next_page_token=reply.next_page_token)


class ValueRules(BaseModel):
    """The tenant's value rules as read (and, as `ValueRulesIn`, as written)."""

    currency: str = Field(default="CNY", max_length=3, description="Segments and RFM are judged in this currency")
    high_value_annual_spend: str = Field(default="100000", max_length=20,
                                         description="12-month spend at least this: high_value")
    potential_predicted_value: str = Field(default="50000", max_length=20,
                                           description="Else predicted 3-year value at least this: potential")
    low_value_inactive_days: Int32 = Field(default=365, description="Checked before potential: no order for more "
                                           "days than this: low_value; otherwise normal")
    recency_days: list[Int32] = Field(default=[30, 90, 180, 365], max_length=4,
                                      description="Four ascending bands (score 5..2)")
    frequency_orders: list[Int32] = Field(default=[1, 3, 6, 12], max_length=4,
                                          description="Four ascending bands (score 2..5)")
    monetary_amounts: list[str] = Field(default=["1000", "10000", "50000", "100000"], max_length=4,
                                        description="Four ascending 12-month spend bands (score 2..5)")
    version: int = Field(default=0, description="Read-only; 0 while the defaults apply")


class ValueRulesIn(RequestBody, ValueRules):
    """What `PUT` takes: the rules without `version`; unknown fields are refused (400)."""

    # No length limit here: the text rule answers first (invalid_characters), the service checks
    # the code (invalid_currency).
    currency: str = Field(default="CNY", description="Segments and RFM are judged in this currency (ISO 4217)")
    version: int = Field(default=0, description="Ignored (read-only)")


def _rules_out(reply: pb.ValueRules) -> ValueRules:
    return ValueRules(currency=reply.currency, high_value_annual_spend=reply.high_value_annual_spend,
                      potential_predicted_value=reply.potential_predicted_value,
                      low_value_inactive_days=reply.low_value_inactive_days, recency_days=list(reply.recency_days),
                      frequency_orders=list(reply.frequency_orders), monetary_amounts=list(reply.monetary_amounts),
                      version=reply.version)


@router.get(
    "/value-rules",
    response_model=ValueRules,
    **operation(operation_id="getValueRules", summary="The tenant's customer value rules",
                scopes=[Scope.REPORTS_READ]),
)
async def get_value_rules(caller: CallerDep, services: BackendsDep) -> ValueRules:
    return _rules_out(await caller.call(services.reporting.GetValueRules, pb.GetValueRulesRequest()))


@router.put(
    "/value-rules",
    response_model=ValueRules,
    **operation(operation_id="putValueRules", summary="Change the tenant's customer value rules",
                scopes=[Scope.REPORTS_READ, Scope.REPORTS_MANAGE],
                description="The whole rule set (absent fields take the defaults); bad values are 400 naming the "
                            "field (`invalid_bands`, `invalid_decimal`, `invalid_currency`, `out_of_range`)."),
)
async def put_value_rules(body: ValueRulesIn, caller: CallerDep, services: BackendsDep) -> ValueRules:
    return _rules_out(await caller.call(services.reporting.PutValueRules, pb.ValueRules(
        currency=body.currency, high_value_annual_spend=body.high_value_annual_spend,
        potential_predicted_value=body.potential_predicted_value,
        low_value_inactive_days=body.low_value_inactive_days, recency_days=body.recency_days,
        frequency_orders=body.frequency_orders, monetary_amounts=body.monetary_amounts)))
