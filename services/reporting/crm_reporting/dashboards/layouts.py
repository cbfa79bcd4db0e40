"""Personal dashboards: a user's ordered panels with their options, the tenant default an admin
publishes, and the built-in layout both fall back to (reporting's Postgres, migration r0100)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput, PermissionDenied
from crm_reporting.dashboards.panels import PANELS
from crm_reporting.scope.tables import dashboard_layouts

TENANT_DEFAULT: Final = "tenant"
MAX_ITEMS: Final = 30
MAX_OPTIONS: Final = 20
_OPTION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_OPTION_VALUE: Final = 200
BUILTIN: Final[list[dict[str, Any]]] = [
    {"panel": "kpis", "options": {}},
    {"panel": "value_trend", "options": {"range": "12m"}},
    {"panel": "industry", "options": {}},
    {"panel": "region", "options": {}},
    {"panel": "new_by_source", "options": {"range": "12m"}},
    {"panel": "top_customers", "options": {"range": "12m"}},
]


@dataclass(frozen=True)
class Layout:
    items: list[dict[str, Any]]
    origin: str  # user | tenant | builtin
    version: int


def check_items(items: list[tuple[str, dict[str, str]]]) -> list[dict[str, Any]]:
    """Each item names a catalogue panel; options are short `snake_case` keys with short text values
    (the page's own settings: object, range, size...). A panel may appear more than once (the same
    chart for two tags)."""
    errors: list[FieldError] = []
    if len(items) > MAX_ITEMS:
        errors.append(FieldError("items", "too_many", f"at most {MAX_ITEMS} panels"))
    checked = []
    for index, (panel, options) in enumerate(items):
        if panel not in PANELS:
            errors.append(FieldError(f"items[{index}].panel", "unknown_panel", f"one of {', '.join(PANELS)}"))
        if len(options) > MAX_OPTIONS:
            errors.append(FieldError(f"items[{index}].options", "too_many", f"at most {MAX_OPTIONS} options"))
        for key, value in options.items():
            if not _OPTION_KEY.match(key):
                errors.append(FieldError(f"items[{index}].options", "invalid_key", "snake_case keys up to 40"))
            elif len(value) > MAX_OPTION_VALUE:
                errors.append(FieldError(f"items[{index}].options.{key}", "too_long",
                                         f"at most {MAX_OPTION_VALUE} characters"))
        checked.append({"panel": panel, "options": dict(sorted(options.items()))})
    if errors:
        raise InvalidInput(errors)
    return checked


def _owner(principal: Principal) -> str:
    if principal.user_id is None:
        raise PermissionDenied("a personal dashboard belongs to a user; sign in as one", code="user_required")
    return f"user:{principal.user_id}"


class LayoutService:
    async def _read(self, session: AsyncSession, owner: str) -> Layout | None:
        row = (await session.execute(
            sa.select(dashboard_layouts.c["items"], dashboard_layouts.c.version)
            .where(dashboard_layouts.c.owner == owner)
        )).first()
        if row is None:
            return None
        return Layout(list(row[0]), "user" if owner != TENANT_DEFAULT else "tenant", int(row.version))

    async def mine(self, session: AsyncSession, principal: Principal) -> Layout:
        """The caller's own layout, else the tenant default, else the built-in one. A client token
        (no user) gets the tenant default or the built-in layout."""
        if principal.user_id is not None:
            own = await self._read(session, f"user:{principal.user_id}")
            if own is not None:
                return own
        published = await self._read(session, TENANT_DEFAULT)
        return published or Layout(BUILTIN, "builtin", 0)

    async def _write(self, session: AsyncSession, owner: str, items: list[dict[str, Any]], actor: str) -> Layout:
        now = datetime.now(UTC)
        upsert = pg_insert(dashboard_layouts).values(owner=owner, items=items, version=1, updated_at=now,
                                                      updated_by=actor)
        statement = upsert.on_conflict_do_update(
            index_elements=[dashboard_layouts.c.owner],
            set_={"items": items, "version": dashboard_layouts.c.version + 1, "updated_at": now, "updated_by": actor},
        ).returning(dashboard_layouts.c.version)
        version = int((await session.execute(statement)).scalar_one())
        return Layout(items, "user" if owner != TENANT_DEFAULT else "tenant", version)

    async def save_mine(self, session: AsyncSession, principal: Principal,
                        items: list[tuple[str, dict[str, str]]]) -> Layout:
        owner = _owner(principal)
        return await self._write(session, owner, check_items(items), principal.actor)

    async def publish_default(self, session: AsyncSession, principal: Principal,
                              items: list[tuple[str, dict[str, str]]]) -> Layout:
        """The tenant default (the caller's scope was checked at the edge: `reports:manage`)."""
        return await self._write(session, TENANT_DEFAULT, check_items(items), principal.actor)


layout_service = LayoutService()
