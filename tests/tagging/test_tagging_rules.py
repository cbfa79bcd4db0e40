"""Rules on fields, orders and inactivity (docs/tagging.md, "Rules"), through the real consumer
and gRPC edge: condition validation, evaluation on events with the trigger recorded, AND/OR, the
set-based sweep (limit, exclusive groups, remove rules), preview within the caller's data scope,
take-back on delete, re-run as a job."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import jobs
from crm_platform.consumer import EventConsumer
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput
from crm_platform.events import CloudEvent, event_type
from crm_platform.grpc_client import call_metadata
from crm_platform.ids import new_id
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging import access
from crm_tagging.autotag import sweeps
from crm_tagging.autotag.conditions import clean_conditions
from crm_tagging.autotag.events import subscription
from crm_tagging.autotag.service import AutoTagService
from crm_tagging.autotag.tables import rule_facts
from crm_tagging.tag.tables import customer_tags
from tests.support import Customers, access_token
from tests.tagging.test_tagging_api import field_errors, rejected
from tests.tagging.test_tagging_manual import tag_events

TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]
Stub = tagging_pb2_grpc.TaggingServiceStub
MANAGE = ["tags:manage", "tags:read"]


def customer_event(tenant_id: uuid.UUID, customer_id: uuid.UUID, verb: str = "created", version: int = 1,
                   changed: list[str] | None = None, **fields: Any) -> CloudEvent:
    customer = {"id": str(customer_id), "version": str(version), "name": "甲公司", **fields}
    data: dict[str, Any] = {"customer": customer}
    if changed is not None:
        data["changed_fields"] = changed
    return CloudEvent.new(source="crm/customers", type=event_type("customer", verb), tenant_id=tenant_id, data=data,
                          subject=str(customer_id))


def order_event(tenant_id: uuid.UUID, customer_id: uuid.UUID, amount: str, ordered_on: date,
                status: str = "paid", order_id: uuid.UUID | None = None, version: int = 1) -> CloudEvent:
    data = {"order_id": str(order_id or new_id()), "customer_id": str(customer_id), "amount": amount,
            "currency": "CNY", "ordered_on": ordered_on.isoformat(), "status": status, "version": str(version)}
    return CloudEvent.new(source="crm/customers", type=event_type("order", "recorded"), tenant_id=tenant_id,
                          data=data, subject=str(customer_id))


async def rule(tagging: Stub, md: Any, tag_name: str, conditions: dict[str, Any], **extra: Any) -> pb.TagRule:
    tag = await tagging.CreateTag(pb.CreateTagRequest(name=tag_name, **extra.pop("tag", {})), metadata=md)
    return await tagging.CreateTagRule(pb.CreateTagRuleRequest(
        tag_id=tag.id, name=f"rule {tag_name}", conditions_json=json.dumps(conditions), **extra), metadata=md)


async def carried(tagging: Stub, md: Any, customer: uuid.UUID) -> dict[str, pb.CustomerTag]:
    reply = await tagging.ListCustomerTags(pb.ListCustomerTagsRequest(customer_id=str(customer)), metadata=md)
    return {t.tag_name: t for t in reply.items}


async def age(engine: AsyncEngine, tenant_id: uuid.UUID, customer: uuid.UUID, days: int) -> None:
    """As if the customer's last interaction were `days` ago (time passing)."""
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.update(rule_facts).where(rule_facts.c.customer_id == customer).values(
            last_interaction_at=datetime.now(UTC) - timedelta(days=days)))


@pytest.mark.parametrize(("tree", "expected"), [
    ({"field": "nickname", "op": "equals", "value": "x"}, [("conditions.all[0].field", "unknown_field")]),
    ({"field": "industry", "op": "like", "value": "x"}, [("conditions.all[0].op", "invalid_choice")]),
    ({"field": "industry", "op": "equals", "value": " "}, [("conditions.all[0].value", "required")]),
    ({"field": "employees", "op": "between", "min": "1"}, [("conditions.all[0].max", "required")]),
    ({"field": "employees", "op": "gte", "value": "many"}, [("conditions.all[0].value", "invalid_number")]),
    ({"metric": "orders_in_days", "op": "gte", "value": 1}, [("conditions.all[0].days", "out_of_range")]),
    ({"metric": "spend", "op": "gte", "value": 1}, [("conditions.all[0].metric", "unknown_metric")]),
    ({"field": "value_segment", "op": "equals", "value": "vip"}, [("conditions.all[0].value", "invalid_choice")]),
    ({"field": "value_segment", "op": "in", "values": ["high_value", "x"]},
     [("conditions.all[0].values", "invalid_choice")]),
    ({"field": "value_segment", "op": "contains", "value": "high"}, [("conditions.all[0].op", "invalid_choice")]),
    ({"any": []}, [("conditions", "invalid_condition")]),
    ({"all": [{"any": [{"all": [{"any": [{"all": [{"field": "name", "op": "empty"}]}]}]}]}]},
     [("conditions.all[0].any[0].all[0].any[0]", "too_deep")]),
])
def test_bad_conditions_name_the_part_at_fault(tree: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_conditions(tree)
    assert sorted((e.field, e.code) for e in caught.value.errors) == expected


async def test_events_apply_field_order_and_status_rules_with_their_trigger(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService,
) -> None:
    md = token_for(tenant_id, MANAGE)
    big = await rule(tagging, md, "高价值", {"metric": "order_amount", "op": "gte", "value": "100000"})
    await rule(tagging, md, "IT 华北", {"all": [{"field": "industry", "op": "equals", "value": "ＩＴ"},
                                                {"field": "region", "op": "in", "values": ["华北", "华东"]}]})
    await rule(tagging, md, "大或丢", {"any": [{"field": "employees", "op": "gte", "value": 500},
                                              {"field": "status", "op": "equals", "value": "lost"}]})
    await rule(tagging, md, "近30天下单", {"metric": "orders_in_days", "days": 30, "op": "gte", "value": 1})
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    customer = new_id()

    assert await consumer.apply(customer_event(tenant_id, customer, industry="it", region="华北", employees="20"))
    assert sorted(await carried(tagging, md, customer)) == ["IT 华北"]

    small = order_event(tenant_id, customer, "99999.99", date.today() - timedelta(days=40))
    assert await consumer.apply(small)
    assert sorted(await carried(tagging, md, customer)) == ["IT 华北"]  # too small, too old
    large = order_event(tenant_id, customer, "100000", date.today() - timedelta(days=2))
    assert await consumer.apply(large)
    tags = await carried(tagging, md, customer)
    assert sorted(tags) == ["IT 华北", "近30天下单", "高价值"]
    assert (tags["高价值"].rule_id, tags["高价值"].rule_name, tags["高价值"].trigger) == (
        big.id, "rule 高价值", f"crm.order.recorded {large.id}")

    lost = customer_event(tenant_id, customer, "updated", version=2, changed=["status"], status="lost",
                          industry="it", region="华北")
    assert await consumer.apply(lost)
    assert "大或丢" in await carried(tagging, md, customer)
    # An older version arriving late changes nothing.
    assert await consumer.apply(customer_event(tenant_id, customer, "updated", version=1, industry="retail"))
    async with tenant_session(engine, tenant_id) as session:
        held = (await session.execute(sa.select(rule_facts).where(rule_facts.c.customer_id == customer))).one()
    assert (held.fields["industry"], held.version, held.max_order_amount) == ("it", 2, 100000)


async def test_inactivity_is_found_by_the_sweep_and_remove_rules_take_tags_off(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService,
) -> None:
    md = token_for(tenant_id, MANAGE)
    churn = await rule(tagging, md, "流失风险", {"metric": "days_since_last_interaction", "op": "gte", "value": 60})
    active = await tagging.CreateTag(pb.CreateTagRequest(name="活跃"), metadata=md)
    await tagging.CreateTagRule(pb.CreateTagRuleRequest(
        tag_id=active.id, conditions_json=json.dumps({"metric": "days_since_last_interaction", "op": "gte",
                                                       "value": 60}), action="remove"), metadata=md)
    assert churn.time_based
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    quiet, busy = new_id(), new_id()
    for customer in (quiet, busy):
        assert await consumer.apply(customer_event(tenant_id, customer))
        await tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=str(customer), tag_id=active.id),
                                       metadata=token_for(tenant_id, ["customers:write", "tags:read"]))
    await age(engine, tenant_id, quiet, 61)
    await age(engine, tenant_id, busy, 59)

    async with tenant_session(engine, tenant_id) as session:
        result = await autotag_service.sweep(session, tenant_id, trigger="sweep")
    assert result == {"rules": 2, "applied": 1, "removed": 1}
    assert sorted(await carried(tagging, md, quiet)) == ["流失风险"]
    assert (await carried(tagging, md, quiet))["流失风险"].trigger == "sweep"
    assert sorted(await carried(tagging, md, busy)) == ["活跃"]
    # A second sweep finds nothing new and announces nothing.
    before = len(await tag_events(engine, tenant_id))
    async with tenant_session(engine, tenant_id) as session:
        assert await autotag_service.sweep(session, tenant_id, trigger="sweep") == {"rules": 2, "applied": 0,
                                                                                     "removed": 0}
    assert len(await tag_events(engine, tenant_id)) == before
    # A status change is an interaction: the customer is no longer inactive.
    assert await consumer.apply(customer_event(tenant_id, quiet, "updated", version=2, changed=["status"],
                                               status="intent"))
    async with tenant_session(engine, tenant_id) as session:
        last = (await session.execute(sa.select(rule_facts.c.last_interaction_at)
                                      .where(rule_facts.c.customer_id == quiet))).scalar_one()
    assert datetime.now(UTC) - last < timedelta(minutes=5)


async def test_the_sweep_respects_the_limit_by_priority_and_exclusive_groups(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService,
) -> None:
    md = token_for(tenant_id, MANAGE)
    await tagging.UpdateTaggingSettings(pb.UpdateTaggingSettingsRequest(max_tags_per_customer=2), metadata=md)
    everyone = {"field": "name", "op": "not_empty"}
    await rule(tagging, md, "later", everyone, priority=50)
    await rule(tagging, md, "first", everyone, priority=10)
    await rule(tagging, md, "普通", everyone, priority=20, tag={"exclusive_group": "tier"})
    await rule(tagging, md, "VIP", {"field": "industry", "op": "equals", "value": "it"}, priority=30,
               tag={"exclusive_group": "tier"})
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    plain, it = new_id(), new_id()
    for customer, industry in ((plain, "retail"), (it, "it")):
        await consumer.apply(customer_event(tenant_id, customer, industry=industry))
    async with tenant_session(engine, tenant_id) as session:  # the events tagged them: start the sweep empty
        await session.execute(sa.delete(customer_tags))
    async with tenant_session(engine, tenant_id) as session:
        await autotag_service.sweep(session, tenant_id, trigger="sweep")

    assert sorted(await carried(tagging, md, plain)) == ["first", "普通"]
    assert sorted(await carried(tagging, md, it)) == ["VIP", "first"]  # VIP replaced 普通 of its group


async def test_preview_counts_only_the_callers_customers(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor, signing_key: ECKey,
    customers: Customers, autotag_service: AutoTagService,
) -> None:
    rep_a, rep_b = uuid.uuid4(), uuid.uuid4()
    scope = EventConsumer(engine, nc, access.subscriptions()[0])
    rules = EventConsumer(engine, nc, subscription(autotag_service))
    owners = {new_id(): rep_a, new_id(): rep_a, new_id(): rep_b}
    for customer, owner in owners.items():
        event = customer_event(tenant_id, customer, industry="it", owner_id=str(owner))
        assert await scope.apply(event) and await rules.apply(event)
    await rules.apply(customer_event(tenant_id, new_id(), industry="retail"))
    conditions = json.dumps({"field": "industry", "op": "equals", "value": "IT"})

    def rep(user: uuid.UUID) -> tuple[tuple[str, str], ...]:
        return call_metadata(access_token(signing_key, tenant_id, ["tags:read"], uid=str(user), ds="own"))

    everyone = await tagging.PreviewTagRule(pb.PreviewTagRuleRequest(conditions_json=conditions),
                                            metadata=token_for(tenant_id, ["tags:read"]))
    assert (everyone.count, sorted(everyone.sample_customer_ids)) == (3, sorted(str(c) for c in owners))
    for user in (rep_a, rep_b):
        mine = await tagging.PreviewTagRule(pb.PreviewTagRuleRequest(conditions_json=conditions), metadata=rep(user))
        expected = sorted(str(c) for c, o in owners.items() if o == user)
        assert (mine.count, sorted(mine.sample_customer_ids)) == (len(expected), expected)
    bad = await rejected(tagging.PreviewTagRule(pb.PreviewTagRuleRequest(conditions_json="{"),
                                                metadata=token_for(tenant_id, ["tags:read"])))
    assert field_errors(bad) == [("conditions", "invalid_condition")]


async def test_delete_takes_back_only_its_tags_and_rerun_is_a_job(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService, provision_tenant: Callable[[], uuid.UUID],
) -> None:
    md = token_for(tenant_id, MANAGE)
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    old, by_hand = new_id(), new_id()
    for customer in (old, by_hand):
        await consumer.apply(customer_event(tenant_id, customer, industry="it"))
    it = await rule(tagging, md, "IT", {"field": "industry", "op": "equals", "value": "it"})
    assert await carried(tagging, md, old) == {}  # existing customers: only on a re-run
    await tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=str(by_hand), tag_id=it.tag_id),
                                   metadata=token_for(tenant_id, ["customers:write", "tags:read"]))

    job = await tagging.RerunTagRule(pb.RerunTagRuleRequest(id=it.id), metadata=md)
    assert (job.kind, job.status) == ("tagging.rule_sweep", "queued")
    elsewhere = await rejected(tagging.GetTagJob(pb.GetTagJobRequest(id=job.id),
                                                 metadata=token_for(provision_tenant(), MANAGE)))
    assert elsewhere.code() == grpc.StatusCode.NOT_FOUND
    claimed = await jobs.claim(engine, ["tagging.rule_sweep"], 10, timedelta(minutes=1))
    mine = [j for j in claimed if str(j.id) == job.id]
    result = await sweeps.sweep_runner(engine, autotag_service)(mine[0])
    await jobs.complete(engine, mine[0].id, result)
    done = await tagging.GetTagJob(pb.GetTagJobRequest(id=job.id), metadata=md)
    # Progress counts customers swept (both the tenant has), not rules.
    assert (done.status, json.loads(done.result_json)["applied"], done.done, done.total) == ("succeeded", 1, 2, 2)
    assert (await carried(tagging, md, old))["IT"].trigger == "rerun"

    deleted = await tagging.DeleteTagRule(pb.DeleteTagRuleRequest(id=it.id, take_back=True), metadata=md)
    assert deleted.tags_taken_back == 1
    assert await carried(tagging, md, old) == {}
    assert list(await carried(tagging, md, by_hand)) == ["IT"]  # applied by hand: stays
    gone = await rejected(tagging.GetTagRule(pb.GetTagRuleRequest(id=it.id), metadata=md))
    assert gone.code() == grpc.StatusCode.NOT_FOUND


async def test_rules_are_edited_disabled_and_validated(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService,
) -> None:
    md = token_for(tenant_id, MANAGE)
    it = await rule(tagging, md, "IT", {"field": "industry", "op": "equals", "value": "it"})
    bad = await rejected(tagging.UpdateTagRule(pb.UpdateTagRuleRequest(
        id=it.id, conditions_json=json.dumps({"field": "industry", "op": "between"}), action="toggle"), metadata=md))
    assert field_errors(bad) == [("action", "invalid_choice"), ("conditions.all[0].min", "required")]
    off = await tagging.UpdateTagRule(pb.UpdateTagRuleRequest(id=it.id, enabled=False, expected_version=1),
                                      metadata=md)
    assert (off.enabled, off.version) == (False, 2)
    stale = await rejected(tagging.UpdateTagRule(pb.UpdateTagRuleRequest(id=it.id, enabled=True, expected_version=1),
                                                 metadata=md))
    assert stale.code() == grpc.StatusCode.FAILED_PRECONDITION
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    customer = new_id()
    await consumer.apply(customer_event(tenant_id, customer, industry="it"))
    assert await carried(tagging, md, customer) == {}
    await tagging.UpdateTagRule(pb.UpdateTagRuleRequest(id=it.id, enabled=True), metadata=md)
    await consumer.apply(customer_event(tenant_id, customer, "updated", version=2, industry="it"))
    assert list(await carried(tagging, md, customer)) == ["IT"]
    denied = await rejected(tagging.UpdateTagRule(pb.UpdateTagRuleRequest(id=it.id, enabled=False),
                                                  metadata=token_for(tenant_id, ["tags:read"])))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED


def followup_event(tenant_id: uuid.UUID, customer_id: uuid.UUID, followed_at: datetime) -> CloudEvent:
    record = {"id": str(new_id()), "customer_id": str(customer_id), "followed_at": followed_at.isoformat(),
              "method": "phone", "result": "interested", "content": "谈了报价"}
    return CloudEvent.new(source="crm/followups", type=event_type("followup_record", "created"), tenant_id=tenant_id,
                          data={"record": record}, subject=str(customer_id))


async def test_a_followup_record_is_an_interaction(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService,
) -> None:
    md = token_for(tenant_id, MANAGE)
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    customer = new_id()
    created_at = (datetime.now(UTC) - timedelta(days=90)).isoformat()
    assert await consumer.apply(customer_event(tenant_id, customer, created_at=created_at))
    await rule(tagging, md, "近期跟进", {"metric": "days_since_last_interaction", "op": "lte", "value": 7})

    async def last_interaction() -> datetime:
        async with tenant_session(engine, tenant_id) as session:
            value: datetime = (await session.execute(sa.select(rule_facts.c.last_interaction_at)
                                                     .where(rule_facts.c.customer_id == customer))).scalar_one()
        return value

    followed_at = datetime.now(UTC) - timedelta(days=2)
    event = followup_event(tenant_id, customer, followed_at)
    assert await consumer.apply(event)
    assert abs(await last_interaction() - followed_at) < timedelta(seconds=1)
    tags = await carried(tagging, md, customer)
    assert sorted(tags) == ["近期跟进"] and tags["近期跟进"].trigger == f"{event.type} {event.id}"
    # A record logged late, and a later change of other fields, never move the interaction back.
    assert await consumer.apply(followup_event(tenant_id, customer, datetime.now(UTC) - timedelta(days=30)))
    assert await consumer.apply(customer_event(tenant_id, customer, "updated", version=2, changed=["name"],
                                               created_at=created_at))
    assert abs(await last_interaction() - followed_at) < timedelta(seconds=1)
    # A record about a customer tagging has not seen changes nothing.
    assert await consumer.apply(followup_event(tenant_id, new_id(), datetime.now(UTC)))


async def test_value_metrics_count_spend_like_annual_spend_on_events_and_in_the_sweep(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService,
) -> None:
    """`spend_12m` sums orders (not contracts) confirmed or paid dated within 365 days, in one
    currency; `orders_30d` counts them over 30 days. An order is also an interaction."""
    md = token_for(tenant_id, MANAGE)
    spender = await rule(tagging, md, "年消费十万", {"metric": "spend_12m", "op": "gte", "value": "100000"})
    await rule(tagging, md, "美元客户", {"metric": "spend_12m", "op": "gte", "value": "10", "currency": "USD"})
    await rule(tagging, md, "本月活跃", {"metric": "orders_30d", "op": "gte", "value": 2})
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    customer = new_id()
    assert await consumer.apply(customer_event(tenant_id, customer))
    await age(engine, tenant_id, customer, 90)

    today = date.today()
    contract = order_event(tenant_id, customer, "500000", today - timedelta(days=3))
    contract.data["kind"] = "contract"
    for event in (order_event(tenant_id, customer, "80000", today - timedelta(days=400)),  # too old
                  order_event(tenant_id, customer, "80000", today - timedelta(days=5), status="pending"),
                  contract,
                  order_event(tenant_id, customer, "60000", today - timedelta(days=200))):
        assert await consumer.apply(event)
    assert await carried(tagging, md, customer) == {}
    async with tenant_session(engine, tenant_id) as session:
        last = (await session.execute(sa.select(rule_facts.c.last_interaction_at)
                                      .where(rule_facts.c.customer_id == customer))).scalar_one()
    assert datetime.now(UTC) - last < timedelta(days=4)  # the contract signed 3 days ago is an interaction

    paid = order_event(tenant_id, customer, "40000", today - timedelta(days=1), status="confirmed")
    assert await consumer.apply(paid)
    tags = await carried(tagging, md, customer)
    assert sorted(tags) == ["年消费十万"]
    assert (tags["年消费十万"].rule_id, tags["年消费十万"].trigger) == (spender.id, f"crm.order.recorded {paid.id}")

    # The sweep finds the same (time moves spend out of the window; nothing here is undone by it).
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.delete(customer_tags))
    async with tenant_session(engine, tenant_id) as session:
        result = await autotag_service.sweep(session, tenant_id, trigger="sweep")
    assert result["applied"] == 1
    assert sorted(await carried(tagging, md, customer)) == ["年消费十万"]
    preview = await tagging.PreviewTagRule(pb.PreviewTagRuleRequest(conditions_json=json.dumps(
        {"metric": "orders_30d", "op": "between", "min": 1, "max": 1})), metadata=md)
    assert (preview.count, preview.time_based) == (1, True)


def value_event(tenant_id: uuid.UUID, *changes: tuple[uuid.UUID, str, int]) -> CloudEvent:
    return CloudEvent.new(source="crm/reporting", type=event_type("value_segment", "changed"), tenant_id=tenant_id,
                          data={"trigger": "order", "currency": "CNY", "changes": [
                              {"customer_id": str(c), "segment": s, "previous_segment": "", "version": v}
                              for c, s, v in changes]})


async def test_value_segment_changes_run_the_rules_newest_version_wins(
    tagging: Stub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, token_for: TokenFor,
    autotag_service: AutoTagService,
) -> None:
    """Reporting's `value_segment.changed` keeps each customer's segment (a late older version
    changes nothing) and runs the rules with the event as trigger; the sweep reads the same column."""
    md = token_for(tenant_id, MANAGE)
    high = await rule(tagging, md, "高价值", {"field": "value_segment", "op": "equals", "value": "high_value"})
    await rule(tagging, md, "有价值分层", {"field": "value_segment", "op": "in", "values": ["potential", "normal"]})
    consumer = EventConsumer(engine, nc, subscription(autotag_service))
    first, second, unseen = new_id(), new_id(), new_id()
    for customer in (first, second):
        assert await consumer.apply(customer_event(tenant_id, customer))
    changed = value_event(tenant_id, (first, "high_value", 2), (second, "normal", 1))
    assert await consumer.apply(changed)
    tags = await carried(tagging, md, first)
    assert sorted(tags) == ["高价值"]
    assert (tags["高价值"].rule_id, tags["高价值"].trigger) == (high.id, f"crm.value_segment.changed {changed.id}")
    assert sorted(await carried(tagging, md, second)) == ["有价值分层"]
    # An older change arriving late is ignored; a customer tagging has not seen yet is kept for later.
    assert await consumer.apply(value_event(tenant_id, (first, "low_value", 1), (unseen, "potential", 1)))
    async with tenant_session(engine, tenant_id) as session:
        held = dict((await session.execute(sa.select(rule_facts.c.customer_id, rule_facts.c.value_segment))).all())
    assert (held[first], held[second], held[unseen]) == ("high_value", "normal", "potential")
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.delete(customer_tags))
    async with tenant_session(engine, tenant_id) as session:
        result = await autotag_service.sweep(session, tenant_id, trigger="sweep")
    assert result["applied"] == 3
    assert sorted(await carried(tagging, md, first)) == ["高价值"]
