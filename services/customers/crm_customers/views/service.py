"""Saved views of the customer list, per user (docs/customers.md, "Saved views"). A view's filters
are validated when saved by the list's own rules (crm_customers/search/filters.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.cleaning import clean_text
from crm_customers.customer.service import CustomerService
from crm_customers.search import filters as list_filters
from crm_customers.views import repository
from crm_platform.auth import Principal
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PreconditionFailed
from crm_platform.ids import new_id, parse_uuid

MAX_NAME: Final = 100
MAX_VIEWS: Final = 100
MAX_COLUMNS: Final = 60


@dataclass
class ViewChanges:
    """What the caller sent (None: not sent)."""

    name: str | None = None
    filters: dict[str, str] | None = None
    order_by: str | None = None
    columns: list[str] | None = None


class CustomerViews:
    def __init__(self, customers: CustomerService):
        self.customers = customers

    async def list(self, session: AsyncSession, caller: Principal) -> list[sa.Row[Any]]:
        return await repository.list_for(session, caller.actor)

    async def get(self, session: AsyncSession, caller: Principal, view_id: str) -> sa.Row[Any]:
        row = await repository.get(session, parse_uuid(view_id, "view"), caller.actor)
        if row is None:
            raise NotFound("view not found")
        return row

    async def _checked(self, session: AsyncSession, caller: Principal, changes: ViewChanges,
                       current: sa.Row[Any] | None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        if changes.name is not None or current is None:
            name = clean_text(changes.name or "")
            if not name:
                errors.append(FieldError("name", "required", "a view needs a name"))
            elif len(name) > MAX_NAME:
                errors.append(FieldError("name", "too_long", f"at most {MAX_NAME} characters"))
            values["name"] = name
        if changes.columns is not None:
            if len(changes.columns) > MAX_COLUMNS:
                errors.append(FieldError("columns", "too_many", f"at most {MAX_COLUMNS} columns"))
            else:
                errors += await list_filters.check_columns(session, changes.columns)
            values["columns"] = changes.columns
        if changes.filters is not None:
            values["filters"] = {k: clean_text(v) for k, v in changes.filters.items() if clean_text(v)}
        if changes.order_by is not None:
            values["order_by"] = " ".join(changes.order_by.lower().split())
        filters = values.get("filters", current.filters if current is not None else {})
        order_by = values.get("order_by", current.order_by if current is not None else "")
        if "filters" in values or "order_by" in values:
            try:
                await list_filters.validate(session, self.customers, caller, filters, order_by)
            except InvalidInput as exc:
                errors += exc.errors
        if errors:
            raise InvalidInput(errors)
        return values

    async def create(self, session: AsyncSession, caller: Principal, changes: ViewChanges) -> sa.Row[Any]:
        changes.filters = changes.filters or {}
        changes.order_by = changes.order_by or ""
        values = await self._checked(session, caller, changes, None)
        if await repository.count_for(session, caller.actor) >= MAX_VIEWS:
            raise Conflict(f"at most {MAX_VIEWS} views per user", code="too_many_views")
        return await repository.insert(session, {
            "id": new_id(), "owner": caller.actor, "filters": {}, "order_by": "", "columns": [], **values,
            "version": 1,
        })

    async def update(self, session: AsyncSession, caller: Principal, view_id: str, changes: ViewChanges,
                     expected_version: int) -> sa.Row[Any]:
        current = await self.get(session, caller, view_id)
        values = await self._checked(session, caller, changes, current)
        if expected_version and expected_version != current.version:
            raise PreconditionFailed("the view was changed elsewhere", code="stale_version",
                                     extra={"current_version": current.version})
        if not values:
            return current
        return await repository.update(session, current.id, caller.actor, values)

    async def delete(self, session: AsyncSession, caller: Principal, view_id: str) -> sa.Row[Any]:
        current = await self.get(session, caller, view_id)
        await repository.delete(session, current.id, caller.actor)
        return current
