"""Timeline entries for the customers service's own changes, written in the change's transaction
(customer/service.py calls these). Field changes are `{"changes": [{"field", "from", "to"}]}`;
sensitive fields (resident ID, bank card) only `{"field", "changed": true}`, never a value."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.activity import repository
from crm_customers.activity.kinds import CREATED, OWNER_CHANGED, STATUS_CHANGED, UPDATED
from crm_customers.sensitive.values import FIELDS as SENSITIVE_FIELDS
from crm_platform.auth import Principal


def plain(value: Any) -> Any:
    """A column value as JSON."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def field_changes(before: Any, after: Any, changed: list[str]) -> list[dict[str, Any]]:
    """One change per field (per key for custom fields), old -> new; sensitive ones without values."""
    out: list[dict[str, Any]] = []
    for name in changed:
        if name in SENSITIVE_FIELDS:
            out.append({"field": name, "changed": True})
        elif name == "custom_fields":
            old, new = before.custom_fields or {}, after.custom_fields or {}
            out += [{"field": f"cf.{key}", "from": old.get(key), "to": new.get(key)}
                    for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
        else:
            out.append({"field": name, "from": plain(getattr(before, name)), "to": plain(getattr(after, name))})
    return out


async def record_created(session: AsyncSession, caller: Principal, row: Any) -> None:
    await session.execute(created_entry(caller, row))


def created_entry(caller: Principal, row: Any) -> sa.Insert:
    """`record_created`'s INSERT, for a create that sends it with its other writes at once."""
    return repository.entry_insert(row.id, CREATED, caller.actor, {"changes": [
        {"field": "status", "to": row.status}, {"field": "owner_id", "to": plain(row.owner_id)},
    ]})


async def record_updated(session: AsyncSession, caller: Principal, before: Any, after: Any,
                         changed: list[str]) -> None:
    for entry in updated_entries(caller, before, after, changed):
        await session.execute(entry)


def updated_entries(caller: Principal, before: Any, after: Any, changed: list[str]) -> list[sa.Insert]:
    """An owner change is its own entry (`owner_changed`); the other fields one `updated` entry.
    The INSERTs, for an update that sends them with its other writes at once."""
    entries = []
    if "owner_id" in changed:
        entries.append(repository.entry_insert(after.id, OWNER_CHANGED, caller.actor,
                                               {"changes": field_changes(before, after, ["owner_id"])}))
    others = field_changes(before, after, [n for n in changed if n != "owner_id"])
    if others:
        entries.append(repository.entry_insert(after.id, UPDATED, caller.actor, {"changes": others}))
    return entries


async def record_status(session: AsyncSession, caller: Principal, customer_id: uuid.UUID, old: str, new: str,
                        reason: str) -> None:
    await repository.add(session, customer_id, STATUS_CHANGED, caller.actor,
                         {"changes": [{"field": "status", "from": old, "to": new}], "reason": reason})


async def record(session: AsyncSession, caller: Principal, customer_id: uuid.UUID, kind: str,
                 data: dict[str, Any] | None = None) -> None:
    """Entries without field values: deleted, restored, revealed ({"fields": [...]}, never values)."""
    await repository.add(session, customer_id, kind, caller.actor, data or {})
