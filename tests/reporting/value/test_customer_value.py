"""Customer value over real chDB: the figures per customer from the counted orders, the predicted
value, segments and RFM scores under the tenant's rules, paging, sorting, the segment filter, data
scope, and rule validation."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from crm_platform.errors import InvalidInput
from crm_reporting.analytics import Analytics
from crm_reporting.dashboards.audience import add_months, parse_object
from crm_reporting.projection import EventProjector
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope
from crm_reporting.value.rules import ValueRules, check_rules
from crm_reporting.value.service import customer_value, value_analysis
from tests.reporting.dashboards.test_panels import TODAY, customer, order

REP = str(uuid.uuid4())


@pytest.fixture
async def customers(analytics: Analytics, tenant: uuid.UUID, other_tenant: uuid.UUID) -> dict[str, uuid.UUID]:
    """big: 3 orders this year (120,000); regular: monthly 1,000 for two years; lapsed: one 40,000
    order 500 days ago; usd: a dollar order only."""
    ids = {name: uuid.uuid4() for name in ("big", "regular", "lapsed", "usd")}
    old = add_months(TODAY, -30)
    events = [customer(tenant, cid, version=1, status="won", created=old, changed=old, name=name,
                       owner_id=REP if name == "big" else "") for name, cid in ids.items()]
    events += [order(tenant, ids["big"], "40000.00", TODAY - timedelta(days=d)) for d in (9, 60, 200)]
    events += [order(tenant, ids["regular"], "1000.00", add_months(TODAY, -m)) for m in range(24)]
    events += [order(tenant, ids["lapsed"], "40000.00", TODAY - timedelta(days=500))]
    events += [order(tenant, ids["usd"], "10.00", TODAY, currency="USD")]
    events += [order(tenant, ids["big"], "5.00", TODAY, status="cancelled")]
    events += [order(other_tenant, ids["big"], "99999.00", TODAY)]  # another tenant's row, same customer id
    projector = EventProjector(analytics)
    await projector.insert([row for event in events for row in projector.rows(event)])
    return ids


async def test_value_figures_segments_and_scores(analytics: Analytics, tenant: uuid.UUID,
                                                 customers: dict[str, uuid.UUID]) -> None:
    everyone = parse_object("all", EVERY_CUSTOMER, {})
    page = await value_analysis(analytics, tenant, everyone, ValueRules(), TODAY)
    by_id = {v.customer_id: v for v in page.items}
    assert page.total == 3 and page.currency == "CNY"  # the USD-only customer is not in the CNY list
    big, regular, lapsed = (by_id[str(customers[n])] for n in ("big", "regular", "lapsed"))
    assert (big.annual_spend, big.orders_12m, big.lifetime_value, big.average_order_value) == (
        "120000.00", 3, "120000.00", "40000.00")
    assert big.last_ordered_on == (TODAY - timedelta(days=9)).isoformat()
    assert (big.segment, big.recency_score, big.frequency_score, big.monetary_score) == ("high_value", 5, 3, 5)
    assert big.reason_en.startswith("spent ¥120,000.00 in 12 months (3 orders); last order 9 days ago")
    assert big.reason_zh.startswith("近12个月消费 ¥120,000.00（3 笔订单）；最近一次下单在 9 天前")
    assert (regular.annual_spend, regular.orders_12m, regular.lifetime_value) == ("12000.00", 12, "24000.00")
    assert (regular.segment, regular.frequency_score, regular.monetary_score) == ("normal", 5, 3)
    assert lapsed.segment == "low_value" and lapsed.recency_score == 1 and lapsed.annual_spend == "0.00"
    # The predicted value follows the documented formula.
    days_active = (TODAY - add_months(TODAY, -23)).days
    rate = 24 * 365 / days_active
    recency = (TODAY - add_months(TODAY, 0)).days
    expected = 1000 * rate * 3 * math.exp(-recency * rate / 365)
    assert abs(Decimal(regular.predicted_value) - Decimal(expected)) < 1
    assert Decimal(lapsed.predicted_value) < Decimal(big.predicted_value)
    # Sorted, paged, filtered by segment.
    first = await value_analysis(analytics, tenant, everyone, ValueRules(), TODAY, order_by="lifetime_value asc",
                                 page_size=2)
    assert [v.lifetime_value for v in first.items] == ["24000.00", "40000.00"] and first.next_offset == 2
    rest = await value_analysis(analytics, tenant, everyone, ValueRules(), TODAY, order_by="lifetime_value asc",
                                page_size=2, offset=2)
    assert [v.lifetime_value for v in rest.items] == ["120000.00"] and rest.next_offset == 0
    low = await value_analysis(analytics, tenant, everyone, ValueRules(), TODAY, segment="low_value")
    assert [v.customer_id for v in low.items] == [str(customers["lapsed"])] and low.total == 1
    # Rules change the segments: a lower bar makes the regular customer high value.
    cheaper = check_rules({"high_value_annual_spend": "10000"})
    assert (await customer_value(analytics, tenant, everyone, cheaper, TODAY, customers["regular"]))\
        .segment == "high_value"  # type: ignore[union-attr]
    # Data scope: the rep sees only their customer.
    mine = await value_analysis(analytics, tenant, parse_object("all", ReportScope((REP,)), {}), ValueRules(), TODAY)
    assert [v.customer_id for v in mine.items] == [str(customers["big"])]
    usd = await value_analysis(analytics, tenant, everyone, ValueRules(), TODAY, currency="USD")
    assert [v.annual_spend for v in usd.items] == ["10.00"]


def test_bad_rules_and_pages_are_field_errors() -> None:
    for body, field in (({"currency": "yuan"}, "currency"), ({"recency_days": [90, 30, 180, 365]}, "recency_days"),
                        ({"monetary_amounts": ["1", "2", "x", "4"]}, "monetary_amounts"),
                        ({"low_value_inactive_days": -1}, "low_value_inactive_days"), ({"colour": 1}, "colour")):
        with pytest.raises(InvalidInput) as bad:
            check_rules(body)
        assert bad.value.errors[0].field == field
