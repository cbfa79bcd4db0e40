"""The customer-value RPCs of ReportingService: translation only (service.py, rules.py)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any

from crm_platform.access import field_policy, require_readable_fields
from crm_platform.auth import Scope
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.grpc_server import Call, HasEngine, rpc
from crm_proto.crm.reporting.v1 import reporting_pb2 as pb
from crm_reporting.analytics import Analytics
from crm_reporting.dashboards.audience import parse_object
from crm_reporting.dashboards.segment_object import requested_segment
from crm_reporting.scope.service import report_scope
from crm_reporting.value.rules import ValueRules, value_rule_store
from crm_reporting.value.segment_changes import enqueue_recompute
from crm_reporting.value.service import CustomerValue, customer_value, value_analysis

SPEND_FIELDS = ("annual_spend", "lifetime_value")


def _figures(value: CustomerValue) -> pb.CustomerValueFigures:
    return pb.CustomerValueFigures(**value.__dict__)


def _rules(rules: ValueRules) -> pb.ValueRules:
    return pb.ValueRules(
        currency=rules.currency, high_value_annual_spend=rules.high_value_annual_spend,
        potential_predicted_value=rules.potential_predicted_value,
        low_value_inactive_days=rules.low_value_inactive_days, recency_days=list(rules.recency_days),
        frequency_orders=list(rules.frequency_orders), monetary_amounts=list(rules.monetary_amounts),
        version=rules.version,
    )


def _offset(token: str) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        return int(text[2:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput([FieldError("page_token", "invalid_page_token", "a token from a previous page")]) from None


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=") if offset else ""


class ValueRpcs(HasEngine):
    analytics: Analytics

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetValueAnalysis(self, request: pb.GetValueAnalysisRequest, call: Call) -> pb.GetValueAnalysisResponse:
        require_readable_fields(call.principal, *SPEND_FIELDS)
        audience = parse_object(request.object, await report_scope(call.session, call.principal),
                                dict(request.view_filters), requested_segment(request))
        require_readable_fields(call.principal, *audience.readable_fields)
        rules = await value_rule_store.read(call.session)
        page = await value_analysis(
            self.analytics, call.principal.tenant_id, audience, rules, datetime.now(UTC).date(),
            currency=request.currency, order_by=request.order_by, segment=request.segment,
            page_size=request.page_size, offset=_offset(request.page_token),
        )
        return pb.GetValueAnalysisResponse(currency=page.currency, items=[_figures(v) for v in page.items],
                                           total_size=page.total, next_page_token=_token(page.next_offset))

    @rpc(Scope.CUSTOMERS_READ, read_only=True)
    async def GetCustomerValue(self, request: pb.GetCustomerValueRequest, call: Call) -> pb.GetCustomerValueResponse:
        if any(field_policy(call.principal, f) in ("hidden", "masked") for f in SPEND_FIELDS):
            return pb.GetCustomerValueResponse(hidden=True)
        try:
            customer_id = uuid.UUID(request.customer_id)
        except ValueError:
            raise InvalidInput([FieldError("customer_id", "invalid_id", "a UUID")]) from None
        audience = parse_object("all", await report_scope(call.session, call.principal), {})
        rules = await value_rule_store.read(call.session)
        value = await customer_value(self.analytics, call.principal.tenant_id, audience, rules,
                                     datetime.now(UTC).date(), customer_id)
        if value is None:
            return pb.GetCustomerValueResponse(found=False)
        return pb.GetCustomerValueResponse(found=True, value=_figures(value))

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetValueRules(self, request: pb.GetValueRulesRequest, call: Call) -> pb.ValueRules:
        return _rules(await value_rule_store.read(call.session))

    @rpc(Scope.REPORTS_READ, Scope.REPORTS_MANAGE)
    async def PutValueRules(self, request: pb.ValueRules, call: Call) -> pb.ValueRules:
        raw: dict[str, Any] = {
            "currency": request.currency, "high_value_annual_spend": request.high_value_annual_spend,
            "potential_predicted_value": request.potential_predicted_value,
            "low_value_inactive_days": request.low_value_inactive_days, "recency_days": list(request.recency_days),
            "frequency_orders": list(request.frequency_orders), "monetary_amounts": list(request.monetary_amounts),
        }
        rules = await value_rule_store.write(call.session, raw, call.principal.actor)
        # Every customer's segment is judged again under the new rules (published if it changed).
        await enqueue_recompute(call.session, call.principal.tenant_id, "rules")
        return _rules(rules)
