"""Money panels stay exact however order versions arrive: the orders table is partitioned by a hash
of the order id (orders/tables.py) and read with FINAL, so every version of one order must collapse
into its latest whatever part or partition it was written to. Figures are compared with an
independent computation in Python from the events' latest versions, for the admin and each rep."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from crm_platform.events import CloudEvent, event_type, proto_data
from crm_proto.crm.events.v1 import events_pb2
from crm_reporting.analytics import Analytics
from crm_reporting.dashboards.audience import DateRange, parse_object, parse_range, quarter_start
from crm_reporting.dashboards.panels import PANELS, PanelRequest
from crm_reporting.projection import EventProjector
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope
from tests.reporting.dashboards.test_panels import REP_A, REP_B, TODAY, customer, points, principal


@dataclass(frozen=True)
class OrderVersion:
    order_id: uuid.UUID
    version: int
    customer_id: uuid.UUID
    amount: Decimal
    day: date
    status: str
    currency: str = "CNY"

    def event(self, tenant: uuid.UUID) -> CloudEvent:
        message = events_pb2.OrderRecorded(
            order_id=str(self.order_id), external_id="X", customer_id=str(self.customer_id), kind="order",
            amount=str(self.amount), currency=self.currency, ordered_on=self.day.isoformat(), status=self.status,
            version=self.version)
        return CloudEvent.new(source="customers", type=event_type("order", "recorded"), tenant_id=tenant,
                              data=proto_data(message))


async def test_versions_redelivered_late_moved_and_reassigned_count_once(analytics: Analytics,
                                                                         tenant: uuid.UUID) -> None:
    rng = random.Random(11)
    # a, b: rep A's; c: rep B's, later reassigned to rep A; d: merged into a (deleted, its orders moved).
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    owners = {a: REP_A, b: REP_A, c: REP_B, d: REP_B}
    first = [customer(tenant, cid, version=1, status="won", created=TODAY, changed=TODAY, owner_id=owner)
             for cid, owner in owners.items()]
    # 64 orders (every one of the 16 partitions gets some), each with 1-3 versions: a status change,
    # an amount correction, a move to another customer.
    versions: list[OrderVersion] = []
    for _ in range(64):
        order_id, cid = uuid.uuid4(), rng.choice([a, b, c, d])
        day = TODAY - timedelta(days=rng.randrange(0, 300))
        for version in range(1, rng.randrange(2, 5)):
            versions.append(OrderVersion(order_id, version, cid, Decimal(rng.randrange(100, 99999)) / 100, day,
                                         rng.choice(["paid", "confirmed", "pending", "cancelled"])))
            cid = rng.choice([a, b, c])  # the next version may move the order (never back to d)
    latest = {v.order_id: v for v in sorted(versions, key=lambda v: v.version)}
    # The merge: d's orders all moved to a by a newer version, then d deleted.
    for v in [v for v in latest.values() if v.customer_id == d]:
        latest[v.order_id] = OrderVersion(v.order_id, v.version + 1, a, v.amount, v.day, v.status)
        versions.append(latest[v.order_id])
    later = [customer(tenant, c, version=2, status="won", created=TODAY, changed=TODAY, verb="updated",
                      changed_fields=("owner_id",), owner_id=REP_A),
             customer(tenant, d, version=2, status="won", created=TODAY, changed=TODAY, verb="deleted",
                      owner_id=REP_B)]
    # Delivery: newest versions first for half the orders (late, older versions after them), every
    # event once more (redelivery), in separate inserts so versions sit in different parts.
    shuffled = versions[:]
    rng.shuffle(shuffled)
    projector = EventProjector(analytics)
    deliveries = [first, *([v.event(tenant) for v in shuffled[i:i + 20]] for i in range(0, len(shuffled), 20)),
                  later, [v.event(tenant) for v in shuffled[::3]]]
    for batch in deliveries:
        await projector.insert([row for event in batch for row in projector.rows(event)])
    final_owner = {a: REP_A, b: REP_A, c: REP_A}  # d is deleted

    range_ = parse_range("12m", "", "", TODAY)
    counted = [v for v in latest.values() if v.status in ("paid", "confirmed")
               and range_.start <= v.day <= range_.end and v.customer_id in final_owner]
    for scope, owners_seen in ((EVERY_CUSTOMER, {REP_A, REP_B}), (ReportScope((REP_A,)), {REP_A}),
                               (ReportScope((REP_B,)), {REP_B})):
        mine = [v for v in counted if final_owner[v.customer_id] in owners_seen]
        await assert_money_panels(analytics, tenant, scope, range_, mine)
    assert not [v for v in counted if final_owner[v.customer_id] == REP_B]  # rep B kept nothing


async def assert_money_panels(analytics: Analytics, tenant: uuid.UUID, scope: ReportScope, range_: DateRange,
                              mine: list[OrderVersion]) -> None:
    """The value trend, the top customers and this quarter's spend card of `scope`'s home page equal
    what `mine` (the counted latest versions that scope sees in the range) adds up to."""
    request = PanelRequest(tenant, parse_object("all", scope, {}), range_, TODAY, principal(tenant))
    by_quarter: dict[str, list[Decimal]] = defaultdict(list)
    for v in mine:
        by_quarter[quarter_start(v.day).isoformat()].append(v.amount)
    trend = (await PANELS["value_trend"].compute(analytics, request)).points
    assert [(p.key, Decimal(p.value), p.count) for p in trend] == \
        [(q, sum(amounts, Decimal(0)), len(amounts)) for q, amounts in sorted(by_quarter.items())]
    by_customer: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for v in mine:
        by_customer[v.customer_id] += v.amount
    top = (await PANELS["top_customers"].compute(analytics, request)).points
    assert {uuid.UUID(p.key): Decimal(p.value) for p in top} == \
        dict(sorted(by_customer.items(), key=lambda kv: -kv[1])[:10])
    kpis = points(await PANELS["kpis"].compute(analytics, request))
    quarter = [v.amount for v in mine if v.day >= quarter_start(TODAY)]
    if quarter:
        assert (Decimal(kpis["spend_this_quarter", "CNY"].value), kpis["spend_this_quarter", "CNY"].count) == \
            (sum(quarter, Decimal(0)), len(quarter))
    else:
        assert ("spend_this_quarter", "CNY") not in kpis or kpis["spend_this_quarter", "CNY"].count == 0
