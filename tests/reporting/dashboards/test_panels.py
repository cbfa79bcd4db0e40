"""Dashboard panels and the funnel over real chDB, from events projected as the consumer does:
figures per audience (data scope, tag, view filters), status history rather than today's status,
money left out under field policies, and another tenant's rows never counted."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from crm_platform.auth import Principal
from crm_platform.errors import InvalidInput, PermissionDenied
from crm_platform.events import CloudEvent, event_type, proto_data
from crm_proto.crm.customers.v1 import customers_pb2, segments_pb2
from crm_proto.crm.events.v1 import events_pb2
from crm_reporting.analytics import Analytics
from crm_reporting.dashboards.audience import DateRange, add_months, parse_object, parse_range, quarter_start
from crm_reporting.dashboards.funnel import sales_funnel
from crm_reporting.dashboards.panels import PANELS, PanelRequest, check_panel_access
from crm_reporting.projection import EventProjector
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope
from tests.reporting.reporting_events import timestamp

TODAY = datetime.now(UTC).date()
REP_A, REP_B = str(uuid.uuid4()), str(uuid.uuid4())


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


def customer(tenant: uuid.UUID, cid: uuid.UUID, *, version: int, status: str, created: date, changed: date,
             verb: str = "created", changed_fields: tuple[str, ...] = (), **fields: Any) -> CloudEvent:
    message = customers_pb2.Customer(id=str(cid), version=version, status=status, created_at=timestamp(at(created)),
                                     updated_at=timestamp(at(changed)), **fields)
    data = (events_pb2.CustomerCreated(customer=message) if verb == "created"
            else events_pb2.CustomerUpdated(customer=message, changed_fields=list(changed_fields)))
    return CloudEvent.new(source="customers", type=event_type("customer", verb), tenant_id=tenant,
                          data=proto_data(data), subject=str(cid))


def order(tenant: uuid.UUID, cid: uuid.UUID, amount: str, day: date, *, currency: str = "CNY",
          status: str = "paid", kind: str = "order") -> CloudEvent:
    message = events_pb2.OrderRecorded(order_id=str(uuid.uuid4()), external_id="X", customer_id=str(cid), kind=kind,
                                       amount=amount, currency=currency, ordered_on=day.isoformat(), status=status,
                                       version=1)
    return CloudEvent.new(source="customers", type=event_type("order", "recorded"), tenant_id=tenant,
                          data=proto_data(message))


def tag(tenant: uuid.UUID, cid: uuid.UUID, tag_id: uuid.UUID, seq: int, verb: str = "applied") -> CloudEvent:
    message: Any = (events_pb2.TagApplied if verb == "applied" else events_pb2.TagRemoved)(
        customer_id=str(cid), tag_id=str(tag_id), tag_name="VIP", change_seq=seq)
    return CloudEvent.new(source="tagging", type=event_type("tag", verb), tenant_id=tenant, data=proto_data(message))


def principal(tenant: uuid.UUID, **policies: str) -> Principal:
    return Principal(subject="u", tenant_id=tenant, user_id=uuid.uuid4(), client_id="web",
                     scopes=frozenset({"reports:read"}),
                     field_policies=policies)


class World:
    """Rep A: c1 (IT, 华北/北京, won this quarter after intent, big spender), c2 (IT, 华东, potential, new
    this month); rep B: c3 (retail, 华北/天津, won more than a year ago, no recent order: churned),
    c4 (deleted). c1 carries the tag."""

    def __init__(self, tenant: uuid.UUID):
        self.tenant = tenant
        self.c1, self.c2, self.c3, self.c4 = (uuid.uuid4() for _ in range(4))
        self.tag = uuid.uuid4()
        q = quarter_start(TODAY)
        self.old = add_months(TODAY, -15)
        self.events = [
            customer(tenant, self.c1, version=1, status="potential", created=self.old, changed=self.old,
                     owner_id=REP_A, industry="IT", region="华北/北京", source="web", name="甲公司"),
            customer(tenant, self.c1, version=2, status="intent", created=self.old,
                     changed=self.old + timedelta(days=10), verb="updated", changed_fields=("status",),
                     owner_id=REP_A, industry="IT", region="华北/北京", source="web", name="甲公司"),
            customer(tenant, self.c1, version=3, status="won", created=self.old, changed=q, verb="updated",
                     changed_fields=("status",), owner_id=REP_A, industry="IT", region="华北/北京", source="web",
                     name="甲公司"),
            customer(tenant, self.c2, version=1, status="potential", created=TODAY.replace(day=1), changed=TODAY,
                     owner_id=REP_A, industry="IT", region="华东", source="expo", name="乙公司"),
            customer(tenant, self.c3, version=1, status="won", created=self.old, changed=self.old, owner_id=REP_B,
                     industry="retail", region="华北/天津", source="web", name="丙公司"),
            customer(tenant, self.c4, version=1, status="potential", created=TODAY, changed=TODAY, owner_id=REP_B,
                     industry="retail", region="西南", source="web", name="丁公司"),
            customer(tenant, self.c4, version=2, status="potential", created=TODAY, changed=TODAY, verb="deleted",
                     owner_id=REP_B, industry="retail", region="西南", source="web", name="丁公司"),
            order(tenant, self.c1, "1000.00", TODAY),
            order(tenant, self.c1, "250.50", add_months(TODAY, -12) + timedelta(days=2)),
            order(tenant, self.c1, "99.00", TODAY, status="cancelled"),
            order(tenant, self.c2, "10.00", TODAY, currency="USD"),
            order(tenant, self.c3, "500.00", add_months(TODAY, -14)),
            order(tenant, self.c4, "70.00", TODAY),
            tag(tenant, self.c1, self.tag, 1), tag(tenant, self.c2, self.tag, 2), tag(tenant, self.c2, self.tag, 3,
                                                                                    "removed"),
        ]


@pytest.fixture
async def world(analytics: Analytics, tenant: uuid.UUID, other_tenant: uuid.UUID) -> World:
    built, noise = World(tenant), World(other_tenant)
    projector = EventProjector(analytics)
    await projector.insert([row for event in built.events + noise.events for row in projector.rows(event)])
    return built


def request(world: World, scope: ReportScope = EVERY_CUSTOMER, object_: str = "all",
            view: dict[str, str] | None = None, **policies: str) -> PanelRequest:
    return PanelRequest(world.tenant, parse_object(object_, scope, view or {}), parse_range("12m", "", "", TODAY),
                        TODAY, principal(world.tenant, **policies))


def points(result: Any) -> dict[tuple[str, str], Any]:
    return {(p.key, p.currency): p for p in result.points}


async def test_kpis_count_the_audience_from_the_status_history(analytics: Analytics, world: World) -> None:
    kpis = points(await PANELS["kpis"].compute(analytics, request(world)))
    assert kpis["customers", ""].count == 3  # c4 is deleted
    assert kpis["new_this_month", ""].count == 1
    assert kpis["won_this_quarter", ""].count == 1  # c1; c3 won long ago and is won today as well
    assert (kpis["conversion_rate", ""].count, kpis["conversion_rate", ""].value) == (2, "0.6667")
    assert (kpis["churn_rate", ""].count, kpis["churn_rate", ""].value) == (1, "0.5000")  # c3
    assert kpis["spend_this_quarter", "CNY"].value == "1000.00"
    assert kpis["spend_this_quarter", "USD"].value == "10.00"
    assert kpis["conversion_rate", ""].filter == {"status": "won"}
    rep_a = points(await PANELS["kpis"].compute(analytics, request(world, ReportScope((REP_A,)))))
    assert rep_a["customers", ""].count == 2 and rep_a["churn_rate", ""].value == "0.0000"


async def test_money_is_left_out_or_refused_under_field_policies(analytics: Analytics, world: World) -> None:
    result = await PANELS["kpis"].compute(analytics, request(world, annual_spend="hidden"))
    assert result.omitted_fields == ["annual_spend"]
    assert not any(p.key.startswith("spend_") for p in result.points)
    for name, field in (("value_trend", "annual_spend"), ("top_customers", "lifetime_value"), ("industry", "industry")):
        with pytest.raises(PermissionDenied) as refused:
            check_panel_access(PANELS[name], principal(world.tenant, **{field: "masked"}))
        assert refused.value.code == "field_hidden" and refused.value.extra["fields"] == [field]


async def test_distributions_and_their_list_filters(analytics: Analytics, world: World) -> None:
    industry = points(await PANELS["industry"].compute(analytics, request(world)))
    assert {k: p.count for (k, _), p in industry.items()} == {"IT": 2, "retail": 1}
    assert industry["IT", ""].filter == {"industry": "IT"}
    region = points(await PANELS["region"].compute(analytics, request(world, object_=f"tag:{world.tag}")))
    assert {k: p.count for (k, _), p in region.items()} == {"华北": 1}  # only c1 still carries the tag
    assert region["华北", ""].filter == {"region": "华北", "tag_id": str(world.tag)}
    source = points(await PANELS["new_by_source"].compute(analytics, request(world)))
    assert {k: p.count for (k, _), p in source.items()} == {"expo": 1}  # created in the last 12 months
    assert source["expo", ""].filter["source"] == "expo"
    viewed = points(await PANELS["industry"].compute(
        analytics, request(world, object_=f"view:{uuid.uuid4()}", view={"region": "华北", "status": "won"})))
    assert {k: p.count for (k, _), p in viewed.items()} == {"IT": 1, "retail": 1}
    assert viewed["IT", ""].filter == {"industry": "IT", "region": "华北", "status": "won"}


async def test_value_trend_and_top_customers(analytics: Analytics, world: World) -> None:
    trend = (await PANELS["value_trend"].compute(analytics, request(world))).points
    assert sum(float(p.value) for p in trend if p.currency == "CNY") == 1250.50
    assert all(p.key == quarter_start(date.fromisoformat(p.key)).isoformat() for p in trend)
    top = (await PANELS["top_customers"].compute(analytics, request(world))).points
    assert [(p.key, p.label, p.value, p.count) for p in top] == [(str(world.c1), "甲公司", "1250.50", 2)]
    assert top[0].filter == {"ids": str(world.c1)}
    assert (await PANELS["top_customers"].compute(analytics, request(world, ReportScope((REP_B,))))).points == []


async def test_funnel_follows_the_status_history(analytics: Analytics, world: World) -> None:
    everyone = parse_object("all", EVERY_CUSTOMER, {})
    funnel = await sales_funnel(analytics, world.tenant, everyone, DateRange(world.old, world.old))
    assert funnel.cohort == 2  # c1 and c3 were first contacted (created) that day
    assert [(s.stage, s.customers) for s in funnel.stages] == [("potential", 2), ("intent", 2), ("won", 2)]
    assert funnel.stages[0].median_days_in_stage == "10.0"  # c1: potential 10 days; c3 never potential
    expected_intent = (at(quarter_start(TODAY)) - at(world.old + timedelta(days=10))).days
    assert funnel.stages[1].median_days_in_stage == f"{expected_intent}.0"
    assert (funnel.stages[1].conversion_from_previous, funnel.stages[2].conversion_overall) == ("1.0000", "1.0000")
    mine = await sales_funnel(analytics, world.tenant, parse_object("all", ReportScope((REP_B,)), {}),
                              DateRange(world.old, world.old))
    assert [(s.stage, s.customers) for s in mine.stages] == [("potential", 1), ("intent", 1), ("won", 1)]
    assert mine.stages[0].median_days_in_stage == ""


def test_bad_ranges_and_objects_are_field_errors() -> None:
    for args, field in ((("week", "", ""), "range"), (("custom", "2026-01-01", ""), "to"),
                        (("custom", "2026-02-01", "2026-01-01"), "from"), (("12m", "2026-01-01", ""), "from")):
        with pytest.raises(InvalidInput) as bad:
            parse_range(*args, TODAY)
        assert bad.value.errors[0].field == field
    for text, view in (("tag:nope", {}), ("team:1", {}), (f"view:{uuid.uuid4()}", {"q": "acme"})):
        with pytest.raises(InvalidInput) as bad:
            parse_object(text, EVERY_CUSTOMER, view)
        assert bad.value.errors[0].field == "object"


async def test_orders_of_deleted_customers_stay_out_and_a_restored_customer_counts_again(
        analytics: Analytics, tenant: uuid.UUID, other_tenant: uuid.UUID) -> None:
    """For everyone, orders are narrowed by an anti-join on the deleted customers (their latest
    version): a customer deleted and then restored counts, one deleted (even after an earlier
    restore) does not, and another tenant's deleted customer with the same id changes nothing."""
    kept, restored, gone = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def life(t: uuid.UUID, cid: uuid.UUID, verbs: tuple[str, ...]) -> list[CloudEvent]:
        return [customer(t, cid, version=v, status="won", created=TODAY, changed=TODAY, verb=verb, owner_id=REP_A)
                for v, verb in enumerate(verbs, start=1)]

    events = [*life(tenant, kept, ("created",)), *life(tenant, restored, ("created", "deleted", "restored")),
              *life(tenant, gone, ("created", "deleted", "restored", "deleted")),
              *life(other_tenant, kept, ("created", "deleted")),
              order(tenant, kept, "1.00", TODAY), order(tenant, restored, "20.00", TODAY),
              order(tenant, gone, "300.00", TODAY), order(other_tenant, kept, "4000.00", TODAY)]
    projector = EventProjector(analytics)
    await projector.insert([row for event in events for row in projector.rows(event)])
    everyone = request_for(tenant)
    trend = (await PANELS["value_trend"].compute(analytics, everyone)).points
    assert [(p.value, p.count) for p in trend] == [("21.00", 2)]
    top = (await PANELS["top_customers"].compute(analytics, everyone)).points
    assert {p.key: p.value for p in top} == {str(restored): "20.00", str(kept): "1.00"}
    kpis = points(await PANELS["kpis"].compute(analytics, everyone))
    assert kpis["customers", ""].count == 2 and kpis["spend_this_quarter", "CNY"].value == "21.00"
    assert kpis["won_this_quarter", ""].count == 2
    # The same figures through the semi-join a narrowed audience takes (data scope `own`).
    mine = PanelRequest(tenant, parse_object("all", ReportScope((REP_A,)), {}), everyone.range, TODAY,
                        everyone.principal)
    assert [(p.value, p.count) for p in (await PANELS["value_trend"].compute(analytics, mine)).points] == \
        [("21.00", 2)]


def request_for(tenant: uuid.UUID) -> PanelRequest:
    return PanelRequest(tenant, parse_object("all", EVERY_CUSTOMER, {}), parse_range("12m", "", "", TODAY), TODAY,
                        principal(tenant))


def value_segments_changed(tenant: uuid.UUID, *changes: tuple[uuid.UUID, str, int]) -> CloudEvent:
    return CloudEvent.new(source="reporting", type="crm.value_segment.changed", tenant_id=tenant, data={
        "trigger": "order", "currency": "CNY",
        "changes": [{"customer_id": str(c), "segment": s, "previous_segment": "", "version": v}
                    for c, s, v in changes]})


async def segment_count(analytics: Analytics, world: World, scope: ReportScope = EVERY_CUSTOMER,
                        **parts: Any) -> int:
    audience = parse_object(f"segment:{uuid.uuid4()}", scope, {}, segments_pb2.SegmentDefinition(**parts))
    result = await PANELS["kpis"].compute(analytics, PanelRequest(
        world.tenant, audience, parse_range("12m", "", "", TODAY), TODAY, principal(world.tenant)))
    return points(result)["customers", ""].count


async def test_a_segment_as_the_object_compiles_every_part(analytics: Analytics, world: World) -> None:
    """Tags all / any / none, list filters, spend in 12 months and orders in 30 days with the
    customers service's meaning (a range including 0 keeps customers without orders), and the
    published value segment (latest version wins); deleted customers never count."""
    tag = str(world.tag)
    assert await segment_count(analytics, world) == 3
    assert await segment_count(analytics, world, all_tags=[tag]) == 1  # c1: c2's tag was removed
    assert await segment_count(analytics, world, any_tags=[tag, str(uuid.uuid4())]) == 1
    assert await segment_count(analytics, world, none_tags=[tag]) == 2  # c2, c3
    assert await segment_count(analytics, world, spend_12m_min="1000") == 1  # c1: 1,250.50 in 12 months
    assert await segment_count(analytics, world, spend_12m_min="1250.51") == 0
    assert await segment_count(analytics, world, spend_12m_max="100") == 2  # c2 (USD only), c3 (older order)
    assert await segment_count(analytics, world, spend_12m_max="100", spend_currency="USD") == 3
    assert await segment_count(analytics, world, spend_12m_min="5", spend_currency="USD") == 1  # c2
    assert await segment_count(analytics, world, orders_30d_min="1") == 2  # c1, c2 (c4 is deleted)
    assert await segment_count(analytics, world, orders_30d_max="0") == 1  # c3
    assert await segment_count(analytics, world, orders_30d_min="1", filters={"industry": "IT"},
                               none_tags=[tag]) == 1  # c2
    assert await segment_count(analytics, world, ReportScope((REP_B,)), orders_30d_max="0") == 1
    assert await segment_count(analytics, world, ReportScope((REP_A,)), orders_30d_max="0") == 0
    projector = EventProjector(analytics)
    await projector.insert(projector.rows(value_segments_changed(
        world.tenant, (world.c1, "high_value", 1), (world.c3, "high_value", 1))))
    await projector.insert(projector.rows(value_segments_changed(world.tenant, (world.c3, "", 2))))
    await projector.insert(projector.rows(value_segments_changed(world.tenant, (world.c1, "normal", 0))))  # older
    assert await segment_count(analytics, world, value_segments=["high_value"]) == 1
    assert await segment_count(analytics, world, value_segments=["potential", "normal"]) == 0


async def test_a_segment_object_lists_by_segment_id_and_checks_its_parts(analytics: Analytics, world: World) -> None:
    segment_id = uuid.uuid4()
    definition = segments_pb2.SegmentDefinition(all_tags=[str(world.tag)], spend_12m_min="1")
    audience = parse_object(f"segment:{segment_id}", EVERY_CUSTOMER, {}, definition)
    assert audience.list_filter == {"segment_id": str(segment_id)} and audience.readable_fields == ("annual_spend",)
    industry = points(await PANELS["industry"].compute(analytics, PanelRequest(
        world.tenant, audience, parse_range("12m", "", "", TODAY), TODAY, principal(world.tenant))))
    assert {k: (p.count, p.filter) for (k, _), p in industry.items()} == {
        "IT": (1, {"industry": "IT", "segment_id": str(segment_id)})}
    tags_only = parse_object(f"segment:{segment_id}", EVERY_CUSTOMER, {},
                             segments_pb2.SegmentDefinition(any_tags=[str(world.tag)]))
    assert tags_only.readable_fields == ()
    bad = [
        (None, "not_available"),
        (segments_pb2.SegmentDefinition(value_segments=["vip"]), "invalid_choice"),
        (segments_pb2.SegmentDefinition(filters={"cf.level": "A"}), "unsupported_filter"),
        (segments_pb2.SegmentDefinition(all_tags=["nope"]), "invalid_id"),
    ]
    for part, code in bad:
        with pytest.raises(InvalidInput) as refused:
            parse_object(f"segment:{segment_id}", EVERY_CUSTOMER, {}, part)
        assert [(e.field, e.code) for e in refused.value.errors] == [("object", code)]
    with pytest.raises(InvalidInput) as refused:
        parse_object("segment:nope", EVERY_CUSTOMER, {}, definition)
    assert [(e.field, e.code) for e in refused.value.errors] == [("object", "invalid_id")]


def test_only_the_unnarrowed_audience_takes_the_anti_join() -> None:
    """Scope, tag, view (and a segment, which carries its own conditions) keep the semi-join."""
    assert parse_object("all", EVERY_CUSTOMER, {}).everyone
    assert not parse_object("all", ReportScope((REP_A,)), {}).everyone
    assert not parse_object(f"tag:{uuid.uuid4()}", EVERY_CUSTOMER, {}).everyone
    assert not parse_object(f"view:{uuid.uuid4()}", EVERY_CUSTOMER, {"industry": "IT"}).everyone


async def test_new_customers_are_counted_by_the_day_acquired(analytics: Analytics, tenant: uuid.UUID) -> None:
    """New = acquired in the period: the first contact, else the day created. Customers imported this
    month but first met two years ago are not new; the click-throughs select by the same day."""
    month, long_ago = TODAY.replace(day=1), add_months(TODAY, -24)
    fresh, met_recently = uuid.uuid4(), uuid.uuid4()
    imports = [customer(tenant, uuid.uuid4(), version=1, status="potential", created=month, changed=month,
                        source="web", first_contact_date=long_ago.isoformat()) for _ in range(2)]
    events = [
        *imports,
        customer(tenant, fresh, version=1, status="potential", created=month, changed=month, source="web"),
        customer(tenant, met_recently, version=1, status="potential", created=long_ago, changed=long_ago,
                 source="expo", first_contact_date=month.isoformat()),
    ]
    projector = EventProjector(analytics)
    await projector.insert([row for event in events for row in projector.rows(event)])
    kpis = points(await PANELS["kpis"].compute(analytics, PanelRequest(
        tenant, parse_object("all", EVERY_CUSTOMER, {}), parse_range("12m", "", "", TODAY), TODAY,
        principal(tenant))))
    assert kpis["new_this_month", ""].count == 2  # fresh and met_recently; created_at would say fresh and the imports
    assert kpis["new_this_month", ""].filter == {"acquired_after": month.isoformat()}
    span = DateRange(month, TODAY)
    source = points(await PANELS["new_by_source"].compute(analytics, PanelRequest(
        tenant, parse_object("all", EVERY_CUSTOMER, {}), span, TODAY, principal(tenant))))
    assert {k: p.count for (k, _), p in source.items()} == {"web": 1, "expo": 1}
    assert source["expo", ""].filter == {"source": "expo", "acquired_after": month.isoformat(),
                                         "acquired_before": TODAY.isoformat()}
    funnel = await sales_funnel(analytics, tenant, parse_object("all", EVERY_CUSTOMER, {}), span)
    assert funnel.cohort == 2
    assert funnel.filter == {"acquired_after": month.isoformat(), "acquired_before": TODAY.isoformat()}
