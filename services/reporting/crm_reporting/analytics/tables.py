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

    def create_sql(self) -> str:
        columns = ",\n    ".join(c.ddl() for c in self.columns)
        partition = f"\nPARTITION BY {self.partition_by}" if self.partition_by else ""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.name} (\n    {columns}\n)\n"
            f"ENGINE = {self.engine}{partition}\nORDER BY ({', '.join(self.order_by)})"
        )
