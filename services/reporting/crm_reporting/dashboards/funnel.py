"""The sales funnel (docs/reporting.md, "Funnel"): a cohort of customers by first contact (the
customer's `first_contact_date`, else the day it was created) in a range, and how far each got
through potential -> intent -> won by the status history (`customer_status_changes`), not by
today's status. A stage counts the customers that reached it or a later one; a customer created
as `intent` reached intent without time in potential."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from crm_reporting.analytics import Analytics, TenantQuery
from crm_reporting.customers.tables import CUSTOMER_STATUS_CHANGES, CUSTOMERS
from crm_reporting.dashboards.audience import Audience, DateRange
from crm_reporting.dashboards.panels import rate

STAGES: Final = ("potential", "intent", "won")
_MS_PER_DAY: Final = 86_400_000


@dataclass(frozen=True)
class Stage:
    stage: str
    customers: int
    conversion_from_previous: str
    conversion_overall: str
    median_days_in_stage: str


@dataclass(frozen=True)
class Funnel:
    range: DateRange
    cohort: int
    stages: list[Stage]
    filter: dict[str, str] = field(default_factory=dict)


def _days(value: object) -> str:
    """Median days with one decimal; ClickHouse answers NaN when no customer moved on."""
    if value is None:
        return ""
    number = float(str(value))
    if number != number:  # NaN
        return ""
    return str(Decimal(number).quantize(Decimal("0.1")))


async def sales_funnel(analytics: Analytics, tenant_id: uuid.UUID, audience: Audience, span: DateRange) -> Funnel:
    cohort = (
        audience.customers(TenantQuery(CUSTOMERS, tenant_id, final=True))
        .where("first_contact_on >= {cohort_start:Date32}", cohort_start=span.start)
        .where("first_contact_on <= {cohort_end:Date32}", cohort_end=span.end)
    )
    [size] = await analytics.query(cohort.select("count() AS customers"))
    statuses = {"potential": "potential", "intent": "intent", "won": "won"}
    per_customer = (
        TenantQuery(CUSTOMER_STATUS_CHANGES, tenant_id, final=True)
        .where_in("customer_id", cohort.select("customer_id"))
        .select(
            "customer_id",
            "countIf(status = {potential:String}) AS n_potential",
            "countIf(status = {intent:String}) AS n_intent",
            "countIf(status = {won:String}) AS n_won",
            "toUnixTimestamp64Milli(minIf(changed_at, status = {potential:String})) AS at_potential",
            "toUnixTimestamp64Milli(minIf(changed_at, status = {intent:String})) AS at_intent",
            "toUnixTimestamp64Milli(minIf(changed_at, status = {won:String})) AS at_won",
            **statuses,
        )
        .group_by("customer_id")
    )
    # The first of intent / won: when the customer left potential.
    left_potential = "if(n_intent > 0, if(n_won > 0, least(at_intent, at_won), at_intent), at_won)"
    [reached] = await analytics.query(per_customer.outer(
        "countIf(n_intent > 0 OR n_won > 0) AS reached_intent",
        "countIf(n_won > 0) AS reached_won",
        f"medianExactIf(({left_potential} - at_potential) / {_MS_PER_DAY}, n_potential > 0 AND "
        f"(n_intent > 0 OR n_won > 0) AND {left_potential} >= at_potential) AS potential_days",
        f"medianExactIf((at_won - at_intent) / {_MS_PER_DAY}, n_intent > 0 AND n_won > 0 AND at_won >= at_intent)"
        " AS intent_days",
    ))
    total = int(size["customers"])
    counts = [total, int(reached["reached_intent"]), int(reached["reached_won"])]
    medians = [_days(reached["potential_days"]), _days(reached["intent_days"]), ""]
    stages = [
        Stage(stage, count, "" if index == 0 else rate(count, counts[index - 1]), rate(count, total), medians[index])
        for index, (stage, count) in enumerate(zip(STAGES, counts, strict=True))
    ]
    # acquired_*: the list's own "first contact, else created", as the cohort is counted.
    return Funnel(span, total, stages, audience.filter(acquired_after=span.start.isoformat(),
                                                        acquired_before=span.end.isoformat()))
