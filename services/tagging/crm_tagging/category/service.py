"""Tag categories: the four built-in ones of the platform guide (basic information, behaviour,
value, preference; seeded per tenant by migration tg0130, renamable, never deleted) and the
tenant's own."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id
from crm_tagging.category import repository
from crm_tagging.tag.service import MAX_DESCRIPTION, MAX_NAME, clean_text

MAX_CATEGORIES = 50


def _clean_name(value: str, errors: list[FieldError]) -> str:
    name = clean_text(value)
    if not name:
        errors.append(FieldError("name", "required", "name is required"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", "too_long", f"at most {MAX_NAME} characters"))
    return name


def _clean_description(value: str, errors: list[FieldError]) -> str:
    description = value.strip()
    if len(description) > MAX_DESCRIPTION:
        errors.append(FieldError("description", "too_long", f"at most {MAX_DESCRIPTION} characters"))
    return description


def _clean_position(value: int, errors: list[FieldError]) -> int:
    if not 0 <= value <= 10_000:
        errors.append(FieldError("position", "out_of_range", "position must be between 0 and 10000"))
    return value


def _parse(category_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(category_id)
    except ValueError:
        raise NotFound("no tag category with this id") from None


class CategoryService:
    async def list(self, session: AsyncSession) -> list[sa.Row[Any]]:
        return await repository.list_categories(session)

    async def get(self, session: AsyncSession, category_id: str) -> sa.Row[Any]:
        row = await repository.get_category(session, _parse(category_id))
        if row is None:
            raise NotFound("no tag category with this id")
        return row

    async def create(self, session: AsyncSession, *, name: str, description: str, position: int) -> sa.Row[Any]:
        errors: list[FieldError] = []
        values = {"name": _clean_name(name, errors), "description": _clean_description(description, errors),
                  "position": _clean_position(position or 100, errors)}
        if errors:
            raise InvalidInput(errors)
        if len(await repository.list_categories(session)) >= MAX_CATEGORIES:
            raise Conflict(f"at most {MAX_CATEGORIES} categories", code="too_many_categories")
        category_id = new_id()
        await repository.insert_category(session, {**values, "id": category_id})
        return await self.get(session, str(category_id))

    async def update(self, session: AsyncSession, category_id: str, *, name: str | None, description: str | None,
                     position: int | None) -> sa.Row[Any]:
        current = await self.get(session, category_id)
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = _clean_name(name, errors)
        if description is not None:
            values["description"] = _clean_description(description, errors)
        if position is not None:
            values["position"] = _clean_position(position, errors)
        if errors:
            raise InvalidInput(errors)
        if values:
            await repository.update_category(session, current.id, values)
        return await self.get(session, category_id)

    async def delete(self, session: AsyncSession, category_id: str) -> sa.Row[Any]:
        current = await self.get(session, category_id)
        if current.key:
            raise Conflict("a built-in category cannot be deleted (rename it instead)", code="builtin_category")
        await repository.delete_category(session, current.id)
        return current

    async def exists(self, session: AsyncSession, category_id: uuid.UUID) -> bool:
        return await repository.get_category(session, category_id) is not None
