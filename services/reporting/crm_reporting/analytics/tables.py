"""Declarations of ClickHouse tables that hold tenant rows.

A `TenantTable` renders its own DDL and refuses to exist unless `tenant_id UUID` is a column and
the first key of its ORDER BY (ARCHITECTURE rule 1): that keeps one tenant's rows contiguous on
disk, so the tenant filter every query carries is also the cheapest one to evaluate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TENANT_COLUMN = "tenant_id"

# Plain identifiers only: table and column names are interpolated into SQL, so they must never
# need quoting (and never come from outside the code).
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")
# A MergeTree setting as the DDL writes it: a plain name and an integer.
_SETTING = re.compile(r"[a-z_][a-z0-9_]* = [0-9]+\Z")
# Every declared backfill: `command` runs an INSERT ... SELECT only when the SELECT is one of these.
_BACKFILLS: set[str] = set()


def is_declared_backfill(select: str) -> bool:
    return select in _BACKFILLS


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    default: str | None = None

    def ddl(self) -> str:
        return f"{self.name} {self.type}" + (f" DEFAULT {self.default}" if self.default else "")


@dataclass(frozen=True)
class TenantTable:
    name: str
    columns: tuple[Column, ...]
    engine: str
    order_by: tuple[str, ...]
    partition_by: str | None = None
    # MergeTree settings (`name = 123`), applied to an existing table at start too.
    settings: tuple[str, ...] = ()
    # A SELECT of the table's columns, in order, from this service's other tables: how a table
    # derived from them is filled when it is first created (schema.py); written by code, never input.
    backfill: str | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        for identifier in [self.name, *names]:
            if not _IDENTIFIER.match(identifier):
                raise ValueError(f"{identifier!r} is not a plain identifier")
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name} declares a column twice")
        if Column(TENANT_COLUMN, "UUID") not in self.columns:
            raise ValueError(f"table {self.name} must have a `{TENANT_COLUMN} UUID` column")
        if not self.order_by or self.order_by[0] != TENANT_COLUMN:
            raise ValueError(f"table {self.name} must start its ORDER BY with {TENANT_COLUMN}")
        for setting in self.settings:
            if not _SETTING.match(setting):
                raise ValueError(f"table {self.name}: setting {setting!r} is not `name = integer`")
        if self.backfill is not None:
            _BACKFILLS.add(self.backfill)
        unknown = set(self.order_by) - set(names)
        if unknown:
            raise ValueError(f"table {self.name} orders by unknown columns {sorted(unknown)}")

    @property
    def column_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns)

    def add_columns_sql(self) -> str:
        """Adds the declared columns an older copy of the table lacks (ClickHouse adds a column
        without rewriting parts; old rows read its default)."""
        columns = ", ".join(f"ADD COLUMN IF NOT EXISTS {c.ddl()}" for c in self.columns)
        return f"ALTER TABLE {self.name} {columns}"

    def modify_settings_sql(self) -> str | None:
        """Applies the declared settings to a table created before they were declared."""
        return f"ALTER TABLE {self.name} MODIFY SETTING {', '.join(self.settings)}" if self.settings else None

    def create_sql(self, name: str | None = None) -> str:
        """The table's DDL; `name` creates the same layout under another name (a rebuild's copy)."""
        if name is not None and not _IDENTIFIER.match(name):
            raise ValueError(f"{name!r} is not a plain identifier")
        columns = ",\n    ".join(c.ddl() for c in self.columns)
        partition = f"\nPARTITION BY {self.partition_by}" if self.partition_by else ""
        settings = f"\nSETTINGS {', '.join(self.settings)}" if self.settings else ""
        return (
            f"CREATE TABLE IF NOT EXISTS {name or self.name} (\n    {columns}\n)\n"
            f"ENGINE = {self.engine}{partition}\nORDER BY ({', '.join(self.order_by)}){settings}"
        )
