"""Alembic runner for the two trees every service has.

- `control`: service-wide tables in the `control` schema (plus the platform's own tree, applied
  first, which holds the outbox, inbox, job queue and tenant registry).
- `tenant`: applied to every tenant schema. Migrations declare tables with `schema="tenant"`;
  the runner maps that to the real schema with `schema_translate_map`.

Each tree's env.py is two lines: `from crm_platform.migrations import run_env; run_env()`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.pool import NullPool

from crm_platform.db import CONTROL, TENANT
from crm_platform.ids import tenant_schema

log = logging.getLogger(__name__)

# Alembic keeps its running context in module globals, so two migrations in one process must not
# overlap; across replicas, the advisory lock below serialises per schema.
_alembic_lock = threading.Lock()

PLATFORM_CONTROL_TREE = Path(__file__).parent / "platform_migrations"


def run_env() -> None:
    """Body of every env.py: runs on the connection the runner passed in."""
    attributes = context.config.attributes
    connection: Connection = attributes["connection"]
    context.configure(
        connection=connection,
        version_table=attributes["version_table"],
        version_table_schema=attributes["version_table_schema"],
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def current_schema() -> str:
    """The real schema a migration is running in, for operations Alembic renders from a bare
    schema string (ALTER TABLE ... ADD/DROP COLUMN), which `schema_translate_map` does not reach;
    CREATE TABLE/INDEX with `schema="tenant"` are translated and need no help."""
    translate = op.get_bind().get_execution_options().get("schema_translate_map") or {}
    return str(translate.get(TENANT, TENANT))


def _sync_url(database_url: str) -> str:
    return database_url.replace("+asyncpg", "+psycopg")


def _upgrade(
    database_url: str, tree: Path, schema: str, version_table: str, register_tenant: str | None = None,
    to: str = "head",
) -> None:
    engine = create_engine(_sync_url(database_url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            # Serialise concurrent replicas migrating the same schema.
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            translated = connection.execution_options(schema_translate_map={TENANT: schema})
            config = Config()
            config.set_main_option("script_location", str(tree))
            config.attributes.update(connection=translated, version_table=version_table, version_table_schema=schema)
            with _alembic_lock:
                command.upgrade(config, to)
            if register_tenant is not None:
                connection.execute(
                    text(
                        "INSERT INTO control.tenants (tenant_id, schema_name) VALUES (:t, :s)"
                        " ON CONFLICT (tenant_id) DO NOTHING"
                    ),
                    {"t": register_tenant, "s": schema},
                )
    finally:
        engine.dispose()


def upgrade_control(database_url: str, service_tree: Path | None) -> None:
    """Platform control tables first, then the service's own control tree (if it has one)."""
    _upgrade(database_url, PLATFORM_CONTROL_TREE, CONTROL, "alembic_version_platform")
    if service_tree is not None:
        _upgrade(database_url, service_tree, CONTROL, "alembic_version")


def upgrade_tenant(database_url: str, tenant_tree: Path, tenant_id: uuid.UUID | str, to: str = "head") -> str:
    """Creates or migrates the tenant's schema (to head, or to revision `to`: tests replaying one
    migration) and records the tenant in `control.tenants` (consumers skip events of tenants not
    recorded there)."""
    schema = tenant_schema(tenant_id)
    _upgrade(database_url, tenant_tree, schema, "alembic_version", register_tenant=str(tenant_id), to=to)
    return schema


def _head(tree: Path) -> str | None:
    config = Config()
    config.set_main_option("script_location", str(tree))
    return ScriptDirectory.from_config(config).get_current_head()


def stale_tenants(database_url: str, tenant_tree: Path, tenant_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Tenants whose schema is not at the tree's head (one cheap query per tenant)."""
    head = _head(tenant_tree)
    engine = create_engine(_sync_url(database_url), poolclass=NullPool)
    stale: list[uuid.UUID] = []
    try:
        with engine.connect() as connection:
            for tenant_id in tenant_ids:
                try:
                    version = connection.execute(
                        text(f'SELECT version_num FROM "{tenant_schema(tenant_id)}".alembic_version')
                    ).scalar()
                except ProgrammingError:
                    connection.rollback()
                    version = None
                if version != head:
                    stale.append(tenant_id)
    finally:
        engine.dispose()
    return stale


def upgrade_tenants(database_url: str, tenant_tree: Path, tenant_ids: list[uuid.UUID]) -> None:
    """Brings every known tenant schema to head at start-up; schemas already there are skipped."""
    stale = stale_tenants(database_url, tenant_tree, tenant_ids)
    for tenant_id in stale:
        upgrade_tenant(database_url, tenant_tree, tenant_id)
    if stale:
        log.info("migrated %d of %d tenant schemas", len(stale), len(tenant_ids))
