"""What a customer write checks against, read in one statement: the tenant's settings, the
dictionaries the written values name, and the custom field definitions (a create or update read
them with four or five queries before; docs/benchmarks.md, "API hot paths")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import custom_field_definitions, customer_settings, dictionary_entries
from crm_customers.fields.service import FieldDef
from crm_customers.settings import dictionaries
from crm_customers.settings.service import Settings, from_row

_NAMES: Final = sa.bindparam("dictionary_names", type_=sa.ARRAY(sa.Text))


def _entries_column() -> sa.ScalarSelect[Any]:
    d = dictionary_entries.c
    entry = sa.func.jsonb_build_array(d.dictionary, d.code, d.label, d.parent)
    return (sa.select(sa.func.coalesce(sa.func.jsonb_agg(aggregate_order_by(entry, d.dictionary, d.position)),
                                       sa.text("'[]'::jsonb")))
            .where(d.dictionary == sa.any_(_NAMES)).scalar_subquery())


def _fields_column() -> sa.ScalarSelect[Any]:
    f = custom_field_definitions.c
    definition = sa.func.jsonb_build_array(f.key, f.label, f.type, f.required, f.options, f.pattern, f.min, f.max,
                                           f.version, f.created_at, f.updated_at)
    return sa.select(sa.func.coalesce(sa.func.jsonb_agg(aggregate_order_by(definition, f.position, f.key)),
                                      sa.text("'[]'::jsonb"))).scalar_subquery()


# Built once (building a statement costs more than running it).
_STATEMENT: Final = sa.select(
    customer_settings, _entries_column().label("entries"), _fields_column().label("definitions"),
).where(customer_settings.c.id == 1)


@dataclass(frozen=True)
class WriteConfig:
    settings: Settings
    # The dictionaries asked for, by name (each complete, in its order, with paths for trees).
    dictionaries: dict[str, dictionaries.Dictionary]
    fields: list[FieldDef]


async def load(session: AsyncSession, dictionary_names: Iterable[str]) -> WriteConfig:
    names = sorted(set(dictionary_names))
    for name in names:
        dictionaries.check_name(name)
    row = (await session.execute(_STATEMENT, {"dictionary_names": names})).one()
    grouped: dict[str, list[dictionaries.Entry]] = {name: [] for name in names}
    for name, code, label, parent in row.entries:
        grouped[name].append(dictionaries.Entry(code, label, parent))
    return WriteConfig(
        settings=from_row(row),
        dictionaries={name: dictionaries.Dictionary(name, dictionaries.with_paths(name, entries))
                      for name, entries in grouped.items()},
        fields=[FieldDef(key, label, kind, required, tuple(options), pattern, low, high, version,
                         _instant(created), _instant(updated))
                for key, label, kind, required, options, pattern, low, high, version, created, updated
                in row.definitions],
    )


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
