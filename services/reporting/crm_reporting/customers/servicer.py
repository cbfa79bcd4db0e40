"""gRPC ReportingService: translation only; the tenant and the data scope come from the verified
token (scope/service.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.access import require_readable_fields
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_reporting.analytics import Analytics
from crm_reporting.customers.service import customer_service
from crm_reporting.dashboards.servicer import DashboardRpcs
from crm_reporting.orders.service import order_reports
from crm_reporting.scope.service import report_scope
from crm_reporting.value.servicer import ValueRpcs


# HasEngine: `@rpc` opens the caller's tenant transaction on `self.engine`; only data scope `team`
# uses it (the team's owners from `user_teams`), and SQLAlchemy connects lazily, so other callers
# take no connection.
class ReportingServicer(DashboardRpcs, ValueRpcs, reporting_pb2_grpc.ReportingServiceServicer):
    def __init__(self, engine: AsyncEngine, analytics: Analytics):
        self.engine = engine
        self.analytics = analytics

    @rpc(Scope.REPORTS_READ)
    async def GetCustomersByIndustry(
        self, request: reporting_pb2.GetCustomersByIndustryRequest, call: Call
    ) -> reporting_pb2.GetCustomersByIndustryResponse:
        # `industry` is the report's dimension: a role that may not see it may not group by it.
        require_readable_fields(call.principal, "industry")
        scope = await report_scope(call.session, call.principal)
        report = await customer_service.customers_by_industry(self.analytics, call.principal.tenant_id, scope)
        return reporting_pb2.GetCustomersByIndustryResponse(
            rows=[
                reporting_pb2.IndustryCount(industry=r.industry, customers=r.customers) for r in report.rows
            ],
            total=report.total,
        )

    # -- spend (crm_reporting/orders) ------------------------------------------------------------

    @rpc(Scope.REPORTS_READ)
    async def GetSpendReport(
        self, request: reporting_pb2.GetSpendReportRequest, call: Call
    ) -> reporting_pb2.GetSpendReportResponse:
        require_readable_fields(call.principal, "annual_spend")
        report = await order_reports.spend_by_month(
            self.analytics, call.principal.tenant_id, from_month=request.from_month, to_month=request.to_month,
            currency=request.currency, scope=await report_scope(call.session, call.principal),
        )
        return reporting_pb2.GetSpendReportResponse(
            rows=[reporting_pb2.SpendMonth(month=r.month, currency=r.currency, amount=r.amount, orders=r.orders)
                  for r in report.rows],
            from_month=report.from_month, to_month=report.to_month,
        )

    @rpc(Scope.REPORTS_READ)
    async def GetCustomerValueReport(
        self, request: reporting_pb2.GetCustomerValueReportRequest, call: Call
    ) -> reporting_pb2.GetCustomerValueReportResponse:
        require_readable_fields(call.principal, "lifetime_value")
        currency, rows = await order_reports.customer_value(
            self.analytics, call.principal.tenant_id, currency=request.currency, limit=request.limit,
            scope=await report_scope(call.session, call.principal),
        )
        return reporting_pb2.GetCustomerValueReportResponse(currency=currency, rows=[
            reporting_pb2.CustomerValue(customer_id=r.customer_id, lifetime_value=r.lifetime_value, orders=r.orders,
                                        last_ordered_on=r.last_ordered_on)
            for r in rows
        ])
