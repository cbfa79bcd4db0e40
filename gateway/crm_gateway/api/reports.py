"""/v1/reports/*: read-only analytics (reporting)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from crm_gateway.api.common import BackendsDep, CallerDep, operation
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
