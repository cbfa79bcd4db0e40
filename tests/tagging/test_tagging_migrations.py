"""Migration tg0003 on a tenant schema that already has customer tags: it adds the change
sequence and `applied_by`, and announces every existing customer tag once as `tag.applied` (outbox
rows written by the migration) so projections built later, such as customers' tag filter, catch up."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from crm_platform.db import control_session, tenant_session
from crm_platform.ids import new_id
from crm_platform.tables import outbox
from crm_tagging.main import DEFINITION
from crm_tagging.tag.service import SOURCE_MANUAL, SOURCE_RULE, TagService
from tests.support import Infra
from tests.tagging.test_tagging_manual import tag_events


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


async def test_tg0003_announces_every_existing_customer_tag(engine: AsyncEngine, infra: Infra, tenant_id: uuid.UUID,
                                                            tag_service: TagService) -> None:
    first, second = new_id(), new_id()
    async with tenant_session(engine, tenant_id) as session:
        vip = await tag_service.create(session, name="VIP", color="")
        tech = await tag_service.create(session, name="Tech", color="")
        for customer, tag, source in ((first, vip, SOURCE_MANUAL), (first, tech, SOURCE_RULE),
                                      (second, vip, SOURCE_RULE)):
            assert await tag_service.apply(session, tenant_id, customer_id=customer, tag_id=tag.id, tag_name=tag.name,
                                           source=source)
    schema = f"t_{tenant_id.hex}"
    await asyncio.to_thread(_migrate, infra.database_url, schema, "tg0002", down=True)
    async with control_session(engine) as session:  # as if these tags predated tag events with change_seq
        await session.execute(sa.delete(outbox).where(outbox.c.tenant_id == tenant_id))

    await asyncio.to_thread(_migrate, infra.database_url, schema, "head", down=False)

    events = await tag_events(engine, tenant_id)
    assert sorted((e["data"]["customer_id"], e["data"]["tag_name"], e["data"]["source"]) for e in events) == sorted([
        (str(first), "VIP", SOURCE_MANUAL), (str(first), "Tech", SOURCE_RULE), (str(second), "VIP", SOURCE_RULE)])
    assert all(e["type"] == "crm.tag.applied" and e["tenantid"] == str(tenant_id) for e in events)
    sequence = sorted(int(e["data"]["change_seq"]) for e in events)
    assert len(set(sequence)) == 3 and sequence[0] > 0
    # The sequence continues after the announcement: the next change outnumbers them.
    async with tenant_session(engine, tenant_id) as session:
        assert await tag_service.apply(session, tenant_id, customer_id=second, tag_id=tech.id, tag_name="Tech",
                                       source=SOURCE_MANUAL, actor="u1")
    latest = (await tag_events(engine, tenant_id))[-1]["data"]
    assert (latest["actor"], int(latest["change_seq"]) > sequence[-1]) == ("u1", True)
