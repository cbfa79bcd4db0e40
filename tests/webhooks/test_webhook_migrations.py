"""The hand-written migration and the table declarations describe the same tables."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.ids import tenant_schema
from crm_webhooks.endpoint.tables import metadata


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
