"""gRPC ReportingService: translation only; the tenant comes from the verified token."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, HasEngine, rpc
from crm_proto.crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_reporting.analytics import Analytics
from crm_reporting.customers.service import customer_service


# HasEngine: `@rpc` opens the caller's tenant transaction on `self.engine` (unused here: reports
# read only the analytics store, and SQLAlchemy connects lazily, so no connection is taken).
class ReportingServicer(reporting_pb2_grpc.ReportingServiceServicer, HasEngine):
    def __init__(self, engine: AsyncEngine, analytics: Analytics):
        self.engine = engine
        self.analytics = analytics

    @rpc(Scope.REPORTS_READ)
    async def GetCustomersByIndustry(
        self, request: reporting_pb2.GetCustomersByIndustryRequest, call: Call
    ) -> reporting_pb2.GetCustomersByIndustryResponse:
        report = await customer_service.customers_by_industry(self.analytics, call.principal.tenant_id)
        return reporting_pb2.GetCustomersByIndustryResponse(
            rows=[
                reporting_pb2.IndustryCount(industry=r.industry, customers=r.customers) for r in report.rows
            ],
            total=report.total,
        )
