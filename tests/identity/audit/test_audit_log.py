"""Identity's audit log against a real PostgreSQL: the trigger refuses UPDATE and DELETE, the writer
takes the origin from the gRPC metadata and never stores secrets, search filters and pages newest
first, sign-in security events write through it, and a customer reveal event becomes one entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.audit import log as audit
from crm_identity.audit.revealed import record_reveal
from crm_identity.tables import audit_events
from crm_identity.users import security_events
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.events import CloudEvent
from crm_platform.origin import Origin, origin_from_metadata, set_origin

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def test_update_and_delete_are_refused_by_the_database(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    async with tenant_session(users_engine, tenant_id) as session:
        entry = await audit.record(session, audit.LOGIN_FAILED, actor="someone", actor_kind="user")
    for statement in (sa.update(audit_events).values(action="login.succeeded"), sa.delete(audit_events)):
        with pytest.raises(DBAPIError, match="append-only"):
            async with tenant_session(users_engine, tenant_id) as session:
                await session.execute(statement.where(audit_events.c.id == entry))
    async with tenant_session(users_engine, tenant_id) as session:
        [row] = (await session.execute(sa.select(audit_events))).all()
    assert row.action == audit.LOGIN_FAILED


async def test_origin_is_read_from_metadata_and_secrets_are_dropped(
    users_engine: AsyncEngine, tenant_id: uuid.UUID,
) -> None:
    """The origin the platform's EdgeInterceptor reads from the gateway's metadata (crm_platform.origin)
    is what the writer stores."""
    principal = Principal(tenant_id=tenant_id, subject="c", client_id="erp", scopes=frozenset())
    set_origin(origin_from_metadata({"x-forwarded-for": "203.0.113.5, 10.0.0.1", "x-client-user-agent": "Mozilla/5.0",
                                     "user-agent": "grpc-python/1.0"}))
    async with tenant_session(users_engine, tenant_id) as session:
        await audit.record_by(session, principal, audit.CLIENT_CREATED, target_type="client",
                              target_id="erp", details={"client_secret": "s3cr3t", "name": "ERP"})
    async with tenant_session(users_engine, tenant_id) as session:
        [row] = await audit.search(session, audit.AuditFilter(), 10)
    assert (row.actor, row.actor_kind, row.ip, row.user_agent) == ("client:erp", "client", "203.0.113.5, 10.0.0.1",
                                                                    "Mozilla/5.0")
    assert row.details == {"name": "ERP"}
    set_origin(Origin())


async def test_search_filters_and_pages_newest_first(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    async with tenant_session(users_engine, tenant_id) as session:
        for minute, (action, actor) in enumerate([("login.failed", "a"), ("login.succeeded", "a"),
                                                  ("client.created", "b"), ("login_x", "b"), ("login.failed", "b")]):
            await audit.record(session, action, actor=actor, actor_kind="user", target_id=f"t{minute}",
                               at=T0 + timedelta(minutes=minute))
    async with tenant_session(users_engine, tenant_id) as session:
        every = await audit.search(session, audit.AuditFilter(), 10)
        assert [r.target_id for r in every] == ["t4", "t3", "t2", "t1", "t0"]
        first = await audit.search(session, audit.AuditFilter(), 2)
        rest = await audit.search(session, audit.AuditFilter(), 10, (first[-1].occurred_at, first[-1].id))
        assert [r.target_id for r in first + rest] == ["t4", "t3", "t2", "t1", "t0"]
        # The action filter is a prefix, with LIKE wildcards taken literally ("login_" is not "login.").
        logins = await audit.search(session, audit.AuditFilter(action_prefix="login."), 10)
        assert [r.target_id for r in logins] == ["t4", "t1", "t0"]
        assert [r.target_id for r in await audit.search(session, audit.AuditFilter(action_prefix="login_"), 10)] == [
            "t3"]
        by_b = await audit.search(session, audit.AuditFilter(actor="b", action_prefix="login.failed"), 10)
        assert [r.target_id for r in by_b] == ["t4"]
        window = audit.AuditFilter(occurred_after=T0 + timedelta(minutes=1), occurred_before=T0 + timedelta(minutes=4))
        assert [r.target_id for r in await audit.search(session, window, 10)] == ["t3", "t2"]
        assert [r.target_id for r in await audit.search(session, audit.AuditFilter(target_id="t2"), 10)] == ["t2"]


async def test_security_events_write_through_the_audit_log(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    user_id, admin_id = uuid.uuid4(), uuid.uuid4()
    async with tenant_session(users_engine, tenant_id) as session:
        await security_events.record(session, security_events.LOGIN_FAILED, T0, email="nobody@example.com")
        await security_events.record(session, security_events.PASSWORD_RESET, T0 + timedelta(seconds=1),
                                     user_id=user_id, email="u@example.com", by=str(admin_id))
    async with tenant_session(users_engine, tenant_id) as session:
        rows = await audit.search(session, audit.AuditFilter(), 10)
    assert [(r.action, r.actor, r.actor_kind, r.target_id) for r in rows] == [
        ("user.password_reset", str(admin_id), "user", str(user_id)),
        ("login.failed", "", "anonymous", ""),
    ]
    assert rows[1].details == {"email": "nobody@example.com"}


async def test_a_reveal_event_becomes_one_entry_without_values(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    customer = str(uuid.uuid4())
    event = CloudEvent.new(
        source="crm/customers", type="crm.customer.revealed", tenant_id=tenant_id,
        data={"customer_id": customer, "fields": ["resident_id"], "actor": "client:erp", "client_id": "erp"},
    )
    async with tenant_session(users_engine, tenant_id) as session:
        await record_reveal(event, session)
    async with tenant_session(users_engine, tenant_id) as session:
        [row] = await audit.search(session, audit.AuditFilter(target_id=customer), 10)
    assert (row.action, row.actor, row.actor_kind, row.target_type) == (
        "customer.revealed", "client:erp", "client", "customer")
    assert row.details["fields"] == ["resident_id"] and row.details["event_id"] == event.id


async def test_an_import_and_its_undo_become_entries(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    import_id = str(uuid.uuid4())
    finished = CloudEvent.new(
        source="crm/customers", type="crm.customer.import_finished", tenant_id=tenant_id,
        data={"import_id": import_id, "actor": "user-1", "filename": "客户.csv", "created": "1200", "updated": "3",
              "skipped": "7"},
    )
    undone = CloudEvent.new(source="crm/customers", type="crm.customer.import_undone", tenant_id=tenant_id,
                            data={"import_id": import_id, "actor": "user-2", "undone": "1203"})
    async with tenant_session(users_engine, tenant_id) as session:
        await record_reveal(finished, session)
        await record_reveal(undone, session)
    async with tenant_session(users_engine, tenant_id) as session:
        rows = await audit.search(session, audit.AuditFilter(target_id=import_id), 10)
    entries = {r.action: r for r in rows}
    assert set(entries) == {"customer.imported", "customer.import_undone"}
    imported = entries["customer.imported"]
    assert (imported.actor, imported.target_type) == ("user-1", "customer_import")
    assert {k: imported.details[k] for k in ("filename", "created", "updated", "skipped")} == {
        "filename": "客户.csv", "created": 1200, "updated": 3, "skipped": 7}
    assert entries["customer.import_undone"].details["undone"] == 1203
