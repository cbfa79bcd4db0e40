"""The activity timeline against real Postgres: the customers service's own changes written with
them (values old -> new, sensitive ones without values), other services' events through the
consumer's handler, the reader's data scope and field policies, paging, kinds, merge moves."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from crm_customers.activity.events import record_event
from crm_customers.activity.merging import ACTIVITY
from crm_customers.activity.service import ActivityService
from crm_customers.activity.tables import customer_activity
from crm_customers.customer.service import CustomerService
from crm_customers.main import DEFINITION
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import ClientInfo, SensitiveFields
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput, NotFound
from crm_platform.events import CloudEvent
from crm_platform.pagination import PageTokens
from tests.customers.conftest import MASTER_KEY

SCOPES = frozenset({"customers:read", "customers:write", "customers:admin", "customers:reveal", "orders:read"})


def person(tenant_id: uuid.UUID, *, data_scope: str = "all", user_id: uuid.UUID | None = None,
           field_policies: dict[str, str] | None = None) -> Principal:
    user = user_id or uuid.uuid4()
    return Principal(tenant_id=tenant_id, subject=f"user:{user}", client_id="web", scopes=SCOPES, user_id=user,
                     data_scope=data_scope, field_policies=field_policies or {})


@pytest.fixture
def customers() -> CustomerService:
    return CustomerService(PageTokens("test-key"), SensitiveFields(LocalKeyWrapper(MASTER_KEY)))


@pytest.fixture
def activity(customers: CustomerService) -> ActivityService:
    return ActivityService(PageTokens("test-key"), customers)


async def timeline(engine: AsyncEngine, activity: ActivityService, reader: Principal, customer_id: Any,
                   kinds: list[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    async with tenant_session(engine, reader.tenant_id) as session:
        entries, _ = await activity.list(session, reader, str(customer_id), kinds or [], 100, "")
    return [(row.kind, data) for row, data in entries]


async def test_own_changes_newest_first(engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService,
                                        activity: ActivityService) -> None:
    admin = person(tenant_id)
    new_owner = uuid.uuid4()
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.create(session, admin, {"name": "星辰科技", "mobile": "13800138000"})
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.update(session, admin, str(c.id), {"name": "星辰科技有限公司",
                                                              "resident_id": "11010519491231002X"}, c.version)
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.update(session, admin, str(c.id), {"owner_id": str(new_owner)}, c.version)
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.change_status(session, admin, str(c.id), "intent", "demo booked")
    async with tenant_session(engine, tenant_id) as session:
        await customers.reveal(session, admin, str(c.id), ["resident_id"], ClientInfo())
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.delete(session, admin, str(c.id), c.version)
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.restore(session, admin, str(c.id))

    entries = await timeline(engine, activity, admin, c.id)
    assert [k for k, _ in entries] == ["restored", "deleted", "revealed", "status_changed", "owner_changed",
                                       "updated", "created"]
    by_kind = dict(entries)
    assert by_kind["created"]["changes"][0] == {"field": "status", "to": "potential"}
    assert by_kind["updated"]["changes"] == [
        {"field": "name", "from": "星辰科技", "to": "星辰科技有限公司"},
        {"field": "resident_id", "changed": True},
    ]
    assert by_kind["owner_changed"]["changes"] == [
        {"field": "owner_id", "from": str(admin.user_id), "to": str(new_owner)}]
    assert by_kind["status_changed"] == {"changes": [{"field": "status", "from": "potential", "to": "intent"}],
                                         "reason": "demo booked"}
    assert by_kind["revealed"] == {"fields": ["resident_id"]}
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(customer_activity.c.data, customer_activity.c.actor).execution_options(
            schema_translate_map={"tenant": f"t_{tenant_id.hex}"}))).all()
    assert "11010519491231002X" not in repr(rows) and "002X" not in repr(rows)
    assert {r.actor for r in rows} == {str(admin.user_id)}
    # kind filter
    assert [k for k, _ in await timeline(engine, activity, admin, c.id, ["created", "deleted"])] == [
        "deleted", "created"]
    with pytest.raises(InvalidInput):
        await timeline(engine, activity, admin, c.id, ["nonsense"])


async def test_field_policies_and_scope(engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService,
                                        activity: ActivityService) -> None:
    admin = person(tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.create(session, admin, {"name": "A", "mobile": "13800138000"})
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.update(session, admin, str(c.id), {"annual_revenue": "100.00"}, c.version)
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.update(session, admin, str(c.id), {"name": "B", "mobile": "13900139000"}, c.version)
    service_user = person(tenant_id, field_policies={"annual_revenue": "hidden", "annual_revenue_currency": "hidden",
                                                     "mobile": "masked"})
    entries = await timeline(engine, activity, service_user, c.id)
    assert [k for k, _ in entries] == ["updated", "created"]  # the revenue-only update is left out
    assert entries[0][1]["changes"] == [{"field": "mobile", "changed": True},
                                        {"field": "name", "from": "A", "to": "B"}]
    assert "100" not in repr(entries)
    # A rep with data scope `own` does not see someone else's customer's timeline.
    rep = person(tenant_id, data_scope="own")
    with pytest.raises(NotFound):
        await timeline(engine, activity, rep, c.id)
    # Nor a customer of another tenant (its id is simply unknown here).
    with pytest.raises(NotFound):
        await timeline(engine, activity, admin, uuid.uuid4())


async def test_paging(engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService,
                      activity: ActivityService) -> None:
    admin = person(tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.create(session, admin, {"name": "A", "mobile": "13800138000"})
        for n in range(6):
            c = await customers.update(session, admin, str(c.id), {"notes": f"note {n}"}, c.version)
    seen: list[str] = []
    token = ""
    async with tenant_session(engine, tenant_id) as session:
        while True:
            entries, token = await activity.list(session, admin, str(c.id), [], 3, token)
            seen += [data["changes"][0].get("to") or "" for _, data in entries]
            if not token:
                break
        with pytest.raises(InvalidInput):
            await activity.list(session, admin, str(c.id), ["updated"], 3, (await activity.list(
                session, admin, str(c.id), [], 3, ""))[1])
    assert seen == ["note 5", "note 4", "note 3", "note 2", "note 1", "note 0", "potential"]


def event(tenant_id: uuid.UUID, type_: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent.new(source="crm/test", type=type_, tenant_id=tenant_id, data=data)


async def test_other_services_events(engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService,
                                     activity: ActivityService) -> None:
    admin = person(tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.create(session, admin, {"name": "A", "mobile": "13800138000"})
    tag = event(tenant_id, "crm.tag.applied", {"customer_id": str(c.id), "tag_id": "t1", "tag_name": "VIP",
                                               "source": "manual"})
    task = event(tenant_id, "crm.followup_task.created", {"task": {
        "id": "k1", "customer_id": str(c.id), "title": "Call back", "due_at": "2026-12-01T00:00:00Z"}})
    order = event(tenant_id, "crm.order.recorded", {"order_id": "o1", "customer_id": str(c.id), "amount": "99.50",
                                                    "currency": "CNY"})
    stranger = event(tenant_id, "crm.tag.applied", {"customer_id": str(uuid.uuid4()), "tag_id": "t1"})
    for e in (tag, task, order, stranger):
        async with tenant_session(engine, tenant_id) as session:
            await record_event(e, session)
    entries = await timeline(engine, activity, admin, c.id)
    assert [k for k, _ in entries] == ["order_recorded", "task_created", "tag_applied", "created"]
    data = dict(entries)
    assert data["tag_applied"]["tag_name"] == "VIP" and data["tag_applied"]["event_id"] == tag.id
    assert data["task_created"]["title"] == "Call back"
    assert data["order_recorded"]["amount"] == "99.50"
    # Order amounts are spend: not for a reader without orders:read (customer_service).
    no_orders = replace(admin, scopes=frozenset({"customers:read"}))
    seen = dict(await timeline(engine, activity, no_orders, c.id))
    assert seen["order_recorded"]["order_id"] == "o1" and "amount" not in seen["order_recorded"]
    # A merge re-pointing an order is not a new entry.
    async with tenant_session(engine, tenant_id) as session:
        await record_event(event(tenant_id, "crm.order.recorded", {"order_id": "o1", "customer_id": str(c.id),
                                                                   "moved": True}), session)
    assert len(await timeline(engine, activity, admin, c.id)) == 4
    # Nor is a tag moved by a merge (source "merge"); a removal by hand is.
    for verb, source in (("applied", "merge"), ("removed", "merge"), ("removed", "manual")):
        async with tenant_session(engine, tenant_id) as session:
            await record_event(event(tenant_id, f"crm.tag.{verb}", {
                "customer_id": str(c.id), "tag_id": "t1", "tag_name": "VIP", "source": source, "actor": "u1"}),
                session)
    entries = await timeline(engine, activity, admin, c.id)
    assert [k for k, _ in entries][:2] == ["tag_removed", "order_recorded"] and len(entries) == 5
    assert dict(entries)["tag_removed"]["tag_name"] == "VIP"


async def test_merge_moves_the_timeline_and_undo_moves_it_back(
    engine: AsyncEngine, tenant_id: uuid.UUID, customers: CustomerService, activity: ActivityService
) -> None:
    admin = person(tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        survivor = await customers.create(session, admin, {"name": "A", "mobile": "13800138000"})
        merged = await customers.create(session, admin, {"name": "B", "mobile": "13900139000"})
        merged = await customers.update(session, admin, str(merged.id), {"notes": "x"}, merged.version)
    async with tenant_session(engine, tenant_id) as session:
        undo = await ACTIVITY.move(session, [merged.id], survivor.id)
    assert len(undo[str(merged.id)]) == 2
    assert len(await timeline(engine, activity, admin, survivor.id)) == 3
    assert await timeline(engine, activity, admin, merged.id) == []
    async with tenant_session(engine, tenant_id) as session:
        await ACTIVITY.undo(session, undo)
    assert [k for k, _ in await timeline(engine, activity, admin, merged.id)] == ["updated", "created"]
    assert len(await timeline(engine, activity, admin, survivor.id)) == 1


def _migrate(database_url: str, schema: str, target: str, *, down: bool) -> None:
    """Moves one tenant schema to `target` as the runtime's migrator does (schema_translate_map)."""
    engine = sa.create_engine(database_url.replace("+asyncpg", "+psycopg"), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(DEFINITION.tenant_tree))
            config.attributes.update(connection=connection.execution_options(schema_translate_map={"tenant": schema}),
                                     version_table="alembic_version", version_table_schema=schema)
            (command.downgrade if down else command.upgrade)(config, target)
    finally:
        engine.dispose()


async def test_migration_backfills_status_history(engine: AsyncEngine, infra: Any, tenant_id: uuid.UUID,
                                                  customers: CustomerService, activity: ActivityService) -> None:
    admin = person(tenant_id)
    async with tenant_session(engine, tenant_id) as session:
        c = await customers.create(session, admin, {"name": "Old", "mobile": "13800138000"})
        await customers.change_status(session, admin, str(c.id), "won", "signed long ago")
    schema = f"t_{tenant_id.hex}"
    await asyncio.to_thread(_migrate, infra.database_url, schema, "c0008", down=True)
    await asyncio.to_thread(_migrate, infra.database_url, schema, "head", down=False)
    entries = await timeline(engine, activity, admin, c.id)
    assert entries == [
        ("status_changed", {"changes": [{"field": "status", "from": "potential", "to": "won"}],
                            "reason": "signed long ago"}),
        ("created", {"changes": [{"field": "status", "to": "potential"}]}),
    ]
