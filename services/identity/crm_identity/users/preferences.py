"""A user's own language and time zone. Empty means "the tenant's" (tenant settings). Access tokens
carry them as the OpenID Connect claims `locale` and `zoneinfo`, next to `name`
(oauth/service.py `user_claims`), so pages format times without asking identity again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_identity.tables import users
from crm_identity.tenants.service import LOCALES
from crm_identity.users.account import AccountSecurity
from crm_identity.users.service import user_event
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput


@dataclass(frozen=True)
class Preferences:
    display_name: str
    locale: str
    time_zone: str


def preference_errors(locale: str | None, time_zone: str | None) -> list[FieldError]:
    errors = []
    if locale and locale not in LOCALES:
        errors.append(FieldError("locale", "unsupported_locale", "locale must be zh-CN or en (or empty)"))
    if time_zone and time_zone not in available_timezones():
        errors.append(FieldError("time_zone", "invalid_time_zone", "an IANA time zone such as Asia/Shanghai"))
    return errors


def user_claims(user: Any) -> dict[str, str]:
    """The OpenID Connect claims of a user's access token: their name, and their own language and
    time zone when they chose them."""
    claims = {"name": str(user.display_name or "")}
    if getattr(user, "locale", ""):
        claims["locale"] = str(user.locale)
    if getattr(user, "time_zone", ""):
        claims["zoneinfo"] = str(user.time_zone)
    return claims


async def get(session: AsyncSession, principal: Principal) -> Preferences:
    user = await AccountSecurity.me(session, principal)
    return Preferences(user.display_name, user.locale, user.time_zone)


async def update(session: AsyncSession, principal: Principal, *, locale: str | None,
                 time_zone: str | None) -> Preferences:
    """Only what is sent changes; an empty value goes back to the tenant's."""
    locale = locale.strip() if locale is not None else None
    time_zone = time_zone.strip() if time_zone is not None else None
    errors = preference_errors(locale, time_zone)
    if errors:
        raise InvalidInput(errors)
    user = await AccountSecurity.me(session, principal, lock=True)
    values = {k: v for k, v in (("locale", locale), ("time_zone", time_zone)) if v is not None}
    if values and any(getattr(user, k) != v for k, v in values.items()):
        # A new version and `user.updated`: followups writes reminders and the morning digest in
        # the user's language and zone (docs/followups.md, "Reminders").
        row = (await session.execute(
            sa.update(users).where(users.c.id == user.id)
            .values(**values, version=users.c.version + 1, updated_at=sa.func.now()).returning(users)
        )).one()
        await user_event(session, principal.tenant_id, "updated", row)
    return Preferences(user.display_name, values.get("locale", user.locale), values.get("time_zone", user.time_zone))
