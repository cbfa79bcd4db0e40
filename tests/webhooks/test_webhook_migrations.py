"""The hand-written migration and the table declarations describe the same tables."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from crm_platform.ids import new_id, tenant_schema
from crm_webhooks.dispatch.tables import control_metadata
from crm_webhooks.endpoint.tables import metadata
from tests.webhooks.conftest import TENANT_TREE


def _declared(table: sa.Table) -> dict[str, Any]:
    return {
        "columns": {(c.name, c.nullable) for c in table.columns},
        "primary_key": {c.name for c in table.primary_key.columns},
        "unique": {
            tuple(sorted(c.name for c in constraint.columns))
            for constraint in table.constraints
            if isinstance(constraint, sa.UniqueConstraint)
        },
        "foreign_keys": {(fk.parent.name, fk.target_fullname.split(".")[-2]) for fk in table.foreign_keys},
    }


def _migrated(inspector: sa.Inspector, name: str, schema: str) -> dict[str, Any]:
    return {
        "columns": {(c["name"], c["nullable"]) for c in inspector.get_columns(name, schema)},
        "primary_key": set(inspector.get_pk_constraint(name, schema)["constrained_columns"]),
        "unique": {tuple(sorted(u["column_names"])) for u in inspector.get_unique_constraints(name, schema)},
        "foreign_keys": {
            (fk["constrained_columns"][0], fk["referred_table"]) for fk in inspector.get_foreign_keys(name, schema)
        },
    }


async def test_migrated_schema_matches_declared_tables(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    schema = tenant_schema(tenant_id)

    def migrated(connection: sa.Connection) -> dict[str, dict[str, Any]]:
        inspector = sa.inspect(connection)
        return {name: _migrated(inspector, name, schema) for name in inspector.get_table_names(schema)}

    async with engine.connect() as connection:
        actual = await connection.run_sync(migrated)

    for table in metadata.tables.values():
        assert _declared(table) == actual[table.name], table.name


async def test_migrated_control_tables_match_declared_tables(engine: AsyncEngine) -> None:
    def migrated(connection: sa.Connection) -> dict[str, dict[str, Any]]:
        inspector = sa.inspect(connection)
        return {name: _migrated(inspector, name, "control") for name in inspector.get_table_names("control")}

    async with engine.connect() as connection:
        actual = await connection.run_sync(migrated)

    for table in control_metadata.tables.values():
        assert _declared(table) == actual[table.name], table.name


def test_waiting_deliveries_move_from_jobs_to_the_fair_queue(database_url: str) -> None:
    """w0040 on a tenant that had deliveries waiting in `webhook.deliver` jobs (the old design)."""
    tenant_id = new_id()
    schema = tenant_schema(tenant_id)
    sync = sa.create_engine(database_url, poolclass=NullPool)
    try:
        with sync.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            config = Config()
            config.set_main_option("script_location", str(TENANT_TREE))
            config.attributes.update(
                connection=connection.execution_options(schema_translate_map={"tenant": schema}),
                version_table="alembic_version", version_table_schema=schema,
            )
            command.upgrade(config, "w0002")
            endpoint_id, waiting, retrying, done, other = new_id(), new_id(), new_id(), new_id(), new_id()
            connection.execute(sa.text(f"""INSERT INTO "{schema}".endpoints (id, url, secret_encrypted)
                                           VALUES (:e, 'https://hooks.example.com/a', '\\x01')"""), {"e": endpoint_id})
            for delivery_id, status, attempts, due in ((waiting, "pending", 0, "now()"),
                                                       (retrying, "failed", 2, "now() + interval '1 hour'"),
                                                       (done, "succeeded", 1, "NULL")):
                connection.execute(sa.text(f"""
                    INSERT INTO "{schema}".deliveries (id, endpoint_id, event_id, event_type, payload, status,
                                                       attempts, next_attempt_at)
                    VALUES (:d, :e, :d, 'crm.customer.created', '{{}}', :s, :a, {due})"""),
                    {"d": delivery_id, "e": endpoint_id, "s": status, "a": attempts})
            for delivery_id, tenant in ((waiting, tenant_id), (retrying, tenant_id), (other, new_id())):
                connection.execute(sa.text("""
                    INSERT INTO control.jobs (id, kind, tenant_id, payload, status, attempts, max_attempts, run_at,
                                              progress_done, dedupe_key)
                    VALUES (gen_random_uuid(), 'webhook.deliver', :t, '{}', 'queued', 0, 10, now(), 0, :k)"""),
                    {"t": tenant, "k": f"deliver:{delivery_id}"})
            command.upgrade(config, "head")
            queued = {row.delivery_id: row for row in connection.execute(
                sa.text("SELECT * FROM control.webhook_queue WHERE tenant_id = :t"), {"t": tenant_id})}
            left = set(connection.execute(sa.text(
                "SELECT dedupe_key FROM control.jobs WHERE kind = 'webhook.deliver'")).scalars())
            lanes = set(connection.execute(sa.text(
                "SELECT endpoint_id FROM control.webhook_lanes WHERE tenant_id = :t"), {"t": tenant_id}).scalars())
            connection.execute(sa.text("DELETE FROM control.jobs WHERE dedupe_key = :k"), {"k": f"deliver:{other}"})
            connection.execute(sa.text("DELETE FROM control.webhook_queue WHERE tenant_id = :t"), {"t": tenant_id})
            connection.execute(sa.text("DELETE FROM control.webhook_lanes WHERE tenant_id = :t"), {"t": tenant_id})
    finally:
        sync.dispose()
    assert set(queued) == {waiting, retrying}
    assert (queued[waiting].attempt, queued[retrying].attempt) == (0, 2)  # their place in the schedule
    assert queued[retrying].run_at > queued[waiting].run_at  # the retry keeps its due time
    assert {row.trigger for row in queued.values()} == {"event"} and lanes == {endpoint_id}
    assert left == {f"deliver:{other}"}  # another tenant's job is its own migration's business
