"""Saved dynamic segments (docs/tagging.md, "Segments"): CRUD, the live count and the builder's
preview. A segment is evaluated by the customer list query (`CustomerService.list_filter` with
`segment_id`), so its count and members are computed under the reader's data scope and field
policies, like every list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer import repository as customer_repository
from crm_customers.customer.cleaning import clean_text
from crm_customers.customer.list_query import ListQuery
from crm_customers.customer.service import CustomerService
from crm_customers.search import filters as list_filters
from crm_customers.segments import repository
from crm_customers.segments.definition import Definition, check
from crm_platform.auth import Principal
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied, PreconditionFailed
from crm_platform.ids import new_id, parse_uuid

MAX_NAME: Final = 100
MAX_DESCRIPTION: Final = 500
MAX_SEGMENTS: Final = 100
VISIBILITIES: Final = ("private", "shared")
MAX_SAMPLE: Final = 20


@dataclass
class SegmentChanges:
    """What the caller sent (None: not sent)."""

    name: str | None = None
    description: str | None = None
    visibility: str | None = None
    definition: Definition | None = None


@dataclass(frozen=True)
class Counted:
    count: int
    sample: list[sa.Row[Any]]


class Segments:
    def __init__(self, customers: CustomerService):
        self.customers = customers

    async def list(self, session: AsyncSession, caller: Principal) -> list[sa.Row[Any]]:
        return await repository.list_for(session, caller.actor)

    async def get(self, session: AsyncSession, caller: Principal, segment_id: str) -> sa.Row[Any]:
        row = await repository.get_visible(session, parse_uuid(segment_id, "segment"), caller.actor)
        if row is None:
            raise NotFound("segment not found")
        return row

    async def _owned(self, session: AsyncSession, caller: Principal, segment_id: str) -> sa.Row[Any]:
        row = await self.get(session, caller, segment_id)
        if row.owner != caller.actor:
            raise PermissionDenied("only the segment's owner can change it", code="not_segment_owner")
        return row

    async def checked_definition(self, session: AsyncSession, caller: Principal, raw: Definition,
                                 prefix: str = "definition") -> Definition:
        """The cleaned definition, or InvalidInput naming each bad part (`definition.spend_12m_min`,
        `definition.filters.status`): its filters are checked by the list's own rules."""
        definition, errors = check(raw, prefix)
        _, map_errors = list_filters.list_arguments(definition.filters, f"{prefix}.filters")
        errors += map_errors
        if not errors:
            await self.customers.definition_filter(session, caller, definition, errors, prefix)
        if errors:
            raise InvalidInput(errors)
        return definition

    async def _checked(self, session: AsyncSession, caller: Principal, changes: SegmentChanges,
                       creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        if changes.name is not None or creating:
            name = clean_text(changes.name or "")
            if not name:
                errors.append(FieldError("name", "required", "a segment needs a name"))
            elif len(name) > MAX_NAME:
                errors.append(FieldError("name", "too_long", f"at most {MAX_NAME} characters"))
            values["name"] = name
        if changes.description is not None:
            description = changes.description.strip()
            if len(description) > MAX_DESCRIPTION:
                errors.append(FieldError("description", "too_long", f"at most {MAX_DESCRIPTION} characters"))
            values["description"] = description
        if changes.visibility is not None or creating:
            visibility = changes.visibility or "private"
            if visibility not in VISIBILITIES:
                errors.append(FieldError("visibility", "invalid_choice", "private or shared"))
            values["visibility"] = visibility
        if changes.definition is not None or creating:
            try:
                values["definition"] = (
                    await self.checked_definition(session, caller, changes.definition or Definition())
                ).stored()
            except InvalidInput as exc:
                errors += exc.errors
        if errors:
            raise InvalidInput(errors)
        return values

    async def create(self, session: AsyncSession, caller: Principal, changes: SegmentChanges) -> sa.Row[Any]:
        values = await self._checked(session, caller, changes, creating=True)
        if await repository.count_owned(session, caller.actor) >= MAX_SEGMENTS:
            raise Conflict(f"at most {MAX_SEGMENTS} segments per user", code="too_many_segments")
        return await repository.insert(session, {"id": new_id(), "owner": caller.actor, "description": "",
                                                 **values, "version": 1})

    async def update(self, session: AsyncSession, caller: Principal, segment_id: str, changes: SegmentChanges,
                     expected_version: int) -> sa.Row[Any]:
        current = await self._owned(session, caller, segment_id)
        values = await self._checked(session, caller, changes, creating=False)
        if expected_version and expected_version != current.version:
            raise PreconditionFailed("the segment was changed elsewhere", code="stale_version",
                                     extra={"current_version": current.version})
        if not values:
            return current
        return await repository.update(session, current.id, values)

    async def delete(self, session: AsyncSession, caller: Principal, segment_id: str) -> sa.Row[Any]:
        current = await self._owned(session, caller, segment_id)
        await repository.delete(session, current.id)
        return current

    async def _counted(self, session: AsyncSession, caller: Principal, definition: Definition,
                       sample_size: int) -> Counted:
        """The definition's count (and sample) as the list filter computes it under the caller's
        scope: the list's filter of no other filter, with the definition's as its segment."""
        errors: list[FieldError] = []
        inner = await self.customers.definition_filter(session, caller, definition, errors, "definition")
        if errors or inner is None:
            raise InvalidInput(errors or [FieldError("definition", "invalid_definition", "invalid")])
        filters, _, _ = await self.customers.list_filter(session, order_by="", caller=caller, query=ListQuery())
        inner.own_only = filters.own_only
        filters.segment = inner
        count = await customer_repository.count(session, filters)
        sample = await customer_repository.list_page(
            session, order_by="created_at desc", limit=sample_size, after=None, filters=filters,
        ) if sample_size and count else []
        return Counted(count, sample)

    async def count(self, session: AsyncSession, caller: Principal, segment_id: str) -> Counted:
        """How many customers are in the segment now, in the caller's data scope (the segment read
        once; the same filter as `/v1/customers?segment_id=`)."""
        row = await self.get(session, caller, segment_id)
        try:
            return await self._counted(session, caller, Definition.from_stored(row.definition), 0)
        except InvalidInput as exc:  # as the list names it for a saved segment
            hidden = any(e.code == "field_hidden" for e in exc.errors)
            raise InvalidInput([FieldError("segment_id", "field_hidden" if hidden else "segment_invalid",
                                           "; ".join(f"{e.field} {e.code}" for e in exc.errors))]) from None

    async def preview(self, session: AsyncSession, caller: Principal, raw: Definition,
                      sample_size: int) -> Counted:
        """An unsaved definition's count and up to MAX_SAMPLE of its newest customers."""
        if not 0 <= sample_size <= MAX_SAMPLE:
            raise InvalidInput([FieldError("sample_size", "out_of_range", f"0-{MAX_SAMPLE}")])
        return await self._counted(session, caller, await self.checked_definition(session, caller, raw), sample_size)
