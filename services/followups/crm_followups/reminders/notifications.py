"""The notification centre's rules: a user reads and marks only their own notifications and sets
only their own channels; an API client (no user) has none."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.reminders import service
from crm_followups.reminders.service import Preferences
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.pagination import PageTokens, page_size

MAX_MARKED = 500


def _user(caller: Principal) -> uuid.UUID:
    if caller.user_id is None:
        raise InvalidInput([FieldError("token", "not_a_user", "notifications belong to users; this token is a "
                                                              "client's")])
    return caller.user_id


class NotificationService:
    def __init__(self, page_tokens: PageTokens):
        self.page_tokens = page_tokens

    async def list_page(self, session: AsyncSession, caller: Principal, *, unread_only: bool, size: int,
                        token: str) -> tuple[list[Any], str, int]:
        if caller.user_id is None:
            return [], "", 0
        limit = page_size(size)
        query_key = ["notifications", unread_only]
        before = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != query_key:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            before = (datetime.fromisoformat(cursor["d"]), uuid.UUID(cursor["i"]))
        rows = await service.list_page(session, caller.user_id, unread_only=unread_only, limit=limit + 1,
                                       before=before)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"q": query_key, "d": last.created_at.isoformat(),
                                                  "i": str(last.id)})
        return rows[:limit], next_token, await service.unread_count(session, caller.user_id)

    async def mark_read(self, session: AsyncSession, caller: Principal, ids: list[str],
                        everything: bool) -> tuple[int, int]:
        user_id = _user(caller)
        errors: list[FieldError] = []
        parsed: list[uuid.UUID] = []
        if not everything and not ids:
            errors.append(FieldError("ids", "required", "name notifications, or all"))
        if len(ids) > MAX_MARKED:
            errors.append(FieldError("ids", "too_many", f"at most {MAX_MARKED} ids"))
        for i, value in enumerate(ids):
            try:
                parsed.append(uuid.UUID(value))
            except ValueError:
                errors.append(FieldError(f"ids[{i}]", "invalid_id", "not a valid id"))
        if errors:
            raise InvalidInput(errors)
        marked = await service.mark_read(session, user_id, None if everything else parsed)
        return marked, await service.unread_count(session, user_id)

    async def preferences(self, session: AsyncSession, caller: Principal) -> Preferences:
        user_id = _user(caller)
        return (await service.preferences_of(session, [user_id]))[user_id]

    async def set_preferences(self, session: AsyncSession, caller: Principal, chosen: Preferences) -> Preferences:
        await service.save_preferences(session, _user(caller), chosen)
        return chosen
