"""`user.created` / `user.updated` carry the display name and the disabled flag with an increasing
version: on creation, on every change through `update_user`, when invitations disable or enable a
user, and once for every existing user (migration it0007). Read from the real outbox."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.invitations.service import Invitations
from crm_identity.users import service as user_service
from crm_platform import migrations
from crm_platform.auth import TENANT_SCOPES, Principal
from crm_platform.db import tenant_session
from crm_platform.ids import tenant_schema
from crm_platform.mail import Mailer
from tests.identity.users.conftest import PACKAGE, PASSWORD


async def user_events(engine: AsyncEngine, tenant: uuid.UUID) -> list[dict[str, Any]]:
    """(type, data) of the tenant's user events, oldest first."""
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT payload FROM control.outbox WHERE tenant_id = :t AND subject LIKE '%.user.%' ORDER BY seq"),
            {"t": tenant})).scalars().all()
    return [{"type": p["type"], **p["data"]} for p in rows]


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, bool, str]]:
    return [(e["type"], e.get("display_name", ""), bool(e.get("disabled", False)), str(e["version"]))
            for e in events]


async def admin(engine: AsyncEngine, tenant: uuid.UUID) -> Principal:
    async with tenant_session(engine, tenant) as session:
        row = await user_service.create_user(session, "admin@example.com", PASSWORD, "管理员", ["tenant_admin"],
                                             tenant_id=tenant)
    return Principal(tenant_id=tenant, subject=str(row.id), client_id="crm-web",
                     scopes=frozenset(s.value for s in TENANT_SCOPES), roles=("tenant_admin",), user_id=row.id)


async def test_created_and_updated_carry_name_and_disabled(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    caller = await admin(users_engine, tenant_id)
    async with tenant_session(users_engine, tenant_id) as session:
        rep = await user_service.create_user(session, "rep@example.com", PASSWORD, "王芳", ["sales_rep"],
                                             tenant_id=tenant_id)
    changes_made: list[dict[str, Any]] = [{"display_name": "王芳（华北）"}, {"disabled": True}, {"disabled": False},
                                          {"roles": ["sales_rep"]}]
    for changes in changes_made:
        async with tenant_session(users_engine, tenant_id) as session:
            current = await user_service.get_user(session, str(rep.id))
            await user_service.update_user(session, str(rep.id), changes, current.version, tenant_id=tenant_id,
                                           actor=caller)
    events = [e for e in await user_events(users_engine, tenant_id) if e["user_id"] == str(rep.id)]
    assert summary(events) == [
        ("crm.user.created", "王芳", False, "1"),
        ("crm.user.updated", "王芳（华北）", False, "2"),
        ("crm.user.updated", "王芳（华北）", True, "3"),
        ("crm.user.updated", "王芳（华北）", False, "4"),
        ("crm.user.updated", "王芳（华北）", False, "5"),
    ]


async def test_invitations_disabling_and_enabling_publish(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    caller = await admin(users_engine, tenant_id)
    invitations = Invitations(users_engine, Mailer("no-reply@crm.test"), "http://crm.test")
    async with tenant_session(users_engine, tenant_id) as session:
        invited = await invitations.invite(session, caller, email="new@example.com", display_name="李雷",
                                           roles_wanted=["sales_rep"], team_id="")
    for step in (invitations.revoke, invitations.revoke, invitations.resend):  # revoking twice changes nothing
        async with tenant_session(users_engine, tenant_id) as session:
            await step(session, caller, str(invited.id))
    events = [e for e in await user_events(users_engine, tenant_id) if e["user_id"] == str(invited.user_id)]
    assert summary(events) == [
        ("crm.user.created", "李雷", False, "1"),
        ("crm.user.updated", "李雷", True, "2"),
        ("crm.user.updated", "李雷", False, "3"),
    ]


async def test_migration_announces_every_existing_user_once(users_database_url: str, users_engine: AsyncEngine,
                                                            tenant_id: uuid.UUID) -> None:
    async with tenant_session(users_engine, tenant_id) as session:
        first = await user_service.create_user(session, "a@example.com", PASSWORD, "Ann", ["sales_rep"])
        second = await user_service.create_user(session, "b@example.com", PASSWORD, "Bob", ["sales_rep"])
        await session.execute(sa.text(f'UPDATE "{tenant_schema(tenant_id)}".users SET disabled = true '
                                      "WHERE id = :id"), {"id": second.id})
    assert await user_events(users_engine, tenant_id) == []  # made without events, as before names travelled
    # The tenant as it was before it0007, migrated again.
    async with users_engine.begin() as conn:
        await conn.execute(sa.text(f'UPDATE "{tenant_schema(tenant_id)}".alembic_version SET version_num = '
                                   "'it0006'"))
    # Replays it0007 alone: later migrations already ran on this schema and are not re-runnable.
    migrations.upgrade_tenant(users_database_url, PACKAGE / "migrations" / "tenant", tenant_id, to="it0007")
    migrations.upgrade_tenant(users_database_url, PACKAGE / "migrations" / "tenant", tenant_id, to="it0007")  # done
    events = await user_events(users_engine, tenant_id)
    assert sorted(summary(events)) == [("crm.user.updated", "Ann", False, "2"), ("crm.user.updated", "Bob", True, "2")]
    assert {e["user_id"] for e in events} == {str(first.id), str(second.id)}
    async with tenant_session(users_engine, tenant_id) as session:
        assert (await user_service.get_user(session, str(first.id))).version == 2


async def test_events_name_the_team_manager_and_a_new_manager_is_announced_to_the_members(
    users_engine: AsyncEngine, tenant_id: uuid.UUID,
) -> None:
    """`team_manager_id` / `team_manager_known` (followups escalates to the team's manager): set on
    creation, re-announced to the team's members (only them) by `announce_team`."""
    from crm_identity.teams import service as teams

    caller = await admin(users_engine, tenant_id)
    async with tenant_session(users_engine, tenant_id) as session:
        boss = await user_service.create_user(session, "boss@example.com", PASSWORD, "经理", ["sales_manager"],
                                              tenant_id=tenant_id)
        team = await teams.create_team(session, {"name": "华东", "manager_id": str(boss.id)})
        rep = await user_service.create_user(session, "rep2@example.com", PASSWORD, "李雷", ["sales_rep"],
                                             team_id=team.id, tenant_id=tenant_id)
    async with tenant_session(users_engine, tenant_id) as session:
        await teams.update_team(session, str(team.id), {"manager_id": ""}, team.version)
        await user_service.announce_team(session, tenant_id, team.id)
    events = await user_events(users_engine, tenant_id)
    mine = [(e["type"], e.get("team_manager_id", ""), e.get("team_manager_known")) for e in events
            if e["user_id"] == str(rep.id)]
    assert mine == [("crm.user.created", str(boss.id), True), ("crm.user.updated", "", True)]
    # Users of no team are told they have no manager; nobody else is re-announced.
    others = [e for e in events if e["user_id"] in (str(boss.id), str(caller.user_id))]
    assert {(e["type"], e.get("team_manager_id", ""), e.get("team_manager_known")) for e in others} == \
        {("crm.user.created", "", True)}
