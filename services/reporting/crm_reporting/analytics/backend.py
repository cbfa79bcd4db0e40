"""The one interface to the analytics store, and what both backends share.

Two backends run the same ClickHouse SQL: `ChdbAnalytics` (chDB, ClickHouse in-process, for one
machine) and `ClickHouseAnalytics` (a ClickHouse server through clickhouse-connect). Values never
enter SQL text: rows travel as JSONEachRow data after the statement, and query values are bound
to `{name:Type}` placeholders by the engine.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, Protocol

from crm_reporting.analytics.query import BuiltQuery, TenantDelete, TenantQuery
from crm_reporting.analytics.tables import TENANT_COLUMN, TenantTable, is_declared_backfill

Row = dict[str, Any]

# Statements `command` accepts: schema changes and maintenance, never reads.
_DDL = re.compile(r"\s*(CREATE|ALTER|DROP|RENAME|EXCHANGE|OPTIMIZE|TRUNCATE)\s", re.IGNORECASE)
# ... and one copy between two of this service's tables, a rebuild's backfill (schema.py): plain
# names only, every row of the source into the target, nothing returned.
_NAMES = r"[a-z_][a-z0-9_]*(?:, [a-z_][a-z0-9_]*)*"
_TABLE_COPY = re.compile(rf"INSERT INTO [a-z_][a-z0-9_]* \(({_NAMES})\) SELECT ({_NAMES}) FROM [a-z_][a-z0-9_]*\Z")
# ... and a derived table's fill, when its SELECT is one a `TenantTable` declares (`backfill`).
_TABLE_FILL = re.compile(rf"INSERT INTO [a-z_][a-z0-9_]* \(({_NAMES})\) (SELECT .*)\Z", re.DOTALL)


class AnalyticsError(Exception):
    """The analytics store refused or failed a statement."""


class Analytics(Protocol):
    async def insert(self, table: TenantTable, rows: list[Row]) -> None:
        """Appends rows; every row must carry its tenant_id."""

    async def query(self, builder: TenantQuery, *, bounded: bool = False) -> list[Row]:
        """Runs a tenant-restricted query; the builder is the only way to read. `bounded`: under
        `BOUNDED_SETTINGS` (an export's queries: the engine's memory bounded, at some speed)."""

    def stream(self, builder: TenantQuery) -> Iterator[list[Any]]:
        """Runs a tenant-restricted query and yields its rows (values in select order) as the engine
        sends them, so a large result (an export's million rows) is never held whole. Synchronous:
        iterate it in a worker thread, never on the event loop; closing the iterator early cancels
        the query."""

    async def command(self, sql: str) -> None:
        """Runs a DDL statement (schema set-up), never a read."""

    async def partition_key(self, table_name: str) -> str | None:
        """The PARTITION BY expression of an existing table as the engine writes it ("" when it has
        none), or None when there is no such table: how `ensure_schema` finds a table to rebuild."""

    async def delete_tenant(self, delete: TenantDelete) -> None:
        """Deletes one tenant's rows from one table (offboarding); returns when they are gone."""

    async def close(self) -> None: ...


def _json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass timezone-aware values")
        # DateTime64 columns parse this form under every date_time_input_format setting.
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in an analytics row")


def encode_rows(table: TenantTable, rows: list[Row]) -> str:
    """JSONEachRow text for `rows`, checked against the table: each row needs a UUID tenant_id
    and may only name the table's columns (so a typo fails here, not as a silent default)."""
    lines = []
    for row in rows:
        if not isinstance(row.get(TENANT_COLUMN), uuid.UUID):
            raise ValueError(f"every {table.name} row needs a uuid.UUID {TENANT_COLUMN}")
        unknown = set(row) - table.column_names
        if unknown:
            raise ValueError(f"{table.name} has no columns {sorted(unknown)}")
        # ASCII-only JSON: every non-ASCII character is a \\u escape the JSON reader decodes.
        lines.append(json.dumps(row, default=_json_value, ensure_ascii=True, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def build_query(builder: TenantQuery) -> BuiltQuery:
    if not isinstance(builder, TenantQuery):
        raise TypeError("analytics queries must be built with TenantQuery")
    return builder.build()


def build_delete(delete: TenantDelete) -> BuiltQuery:
    if not isinstance(delete, TenantDelete):
        raise TypeError("analytics deletes must be built with TenantDelete")
    return delete.build()


def check_ddl(sql: str) -> None:
    copy = _TABLE_COPY.match(sql)
    if copy and copy.group(1) == copy.group(2):
        return
    fill = _TABLE_FILL.match(sql)
    if fill and is_declared_backfill(fill.group(2)):
        return
    if not _DDL.match(sql):
        raise ValueError("command() runs schema statements only; read through TenantQuery")


# The one read outside the builder: a table's partition key from the engine's catalogue.
PARTITION_KEY_SQL = ("SELECT partition_key FROM system.tables "
                     "WHERE database = currentDatabase() AND name = {table_name:String}")


def decode_compact(chunks: Iterable[bytes]) -> Iterator[list[Any]]:
    """JSONCompactEachRow arriving in chunks (one JSON array per line) as rows; a line split
    between two chunks is joined."""
    carried = b""
    for chunk in chunks:
        lines = (carried + chunk).split(b"\n")
        carried = lines.pop()
        for line in lines:
            if line:
                yield json.loads(line)
    if carried.strip():
        yield json.loads(carried)


def decode_rows(raw: bytes | str) -> list[Row]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# Both backends ask for unquoted 64-bit integers so counts decode as ints, not strings.
JSON_OUTPUT_SETTINGS = {"output_format_json_quote_64bit_integers": 0}
# An export's queries (issue 15: a million rows in a file, with the process's memory bounded) trade
# speed for bounded memory, since with chDB they run inside the service: joins by sorting rather than
# a hash table of the right side, sorts and aggregations spilled to disk beyond 32 MiB, one thread and
# small blocks. Both the rows' stream and the report's own pivot that the file's report sheet shows
# (`engine.run(..., bounded=True)`) read the per-customer spend of every order; with the engine's
# defaults either peaks ~400 MiB above the process's resting size, bounded ~160 MiB
# (docs/benchmarks.md, "Export memory (branch exportmem, 2026-12-07)").
BOUNDED_SETTINGS: dict[str, int | str] = {
    "join_algorithm": "full_sorting_merge,hash",
    "max_bytes_before_external_sort": 32 << 20, "max_bytes_before_external_group_by": 32 << 20,
    "max_threads": 1, "max_block_size": 8192,
}
# A stream is always an export's.
STREAM_SETTINGS: dict[str, int | str] = {**JSON_OUTPUT_SETTINGS, **BOUNDED_SETTINGS}


def settings_clause(settings: dict[str, int | str]) -> str:
    """A query's own SETTINGS clause (chDB: the session's other queries keep theirs); the names
    and values are this module's constants, never input."""
    return "\nSETTINGS " + ", ".join(
        f"{name} = {value}" if isinstance(value, int) else f"{name} = '{value}'" for name, value in settings.items())
