"""Owners by name: the name next to every customer's owner on replies, names of the people in a
timeline, and the list of users the caller may make owners (the owner pickers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.access import owner_candidates
from crm_customers.owners import repository
from crm_customers.search.pinyin import pinyin_query
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.pagination import PageTokens, page_size

MAX_PREFIX: Final = 100


def user_ids(raw: Iterable[str]) -> set[uuid.UUID]:
    """The values that are user ids (masked owners, client actors and empty values are not)."""
    out = set()
    for value in raw:
        try:
            out.add(uuid.UUID(value))
        except (ValueError, TypeError, AttributeError):
            continue
    return out


async def names(session: AsyncSession, raw_ids: Iterable[str]) -> dict[str, str]:
    """User id (as text) -> display name, for the ids the projection knows."""
    return {str(k): v for k, v in (await repository.names(session, user_ids(raw_ids))).items()}


async def attach_names(session: AsyncSession, messages: list[Any]) -> None:
    """Sets `owner_name`, `created_by_name` and `updated_by_name` on customer messages (call after
    field policies: a hidden or masked owner gets no name)."""
    known = await names(session, (getattr(m, f) for m in messages for f in ("owner_id", "created_by", "updated_by")))
    for message in messages:
        message.owner_name = known.get(message.owner_id, "")
        message.created_by_name = known.get(message.created_by, "")
        message.updated_by_name = known.get(message.updated_by, "")


def attach_known(messages: list[Any], known: list[dict[str, str]]) -> None:
    """`attach_names` with the names already read, per message (user id as text -> name, as the
    customer repository's reply columns carry them); the same rule: only a shown id gets a name."""
    for message, names_of in zip(messages, known, strict=True):
        message.owner_name = names_of.get(message.owner_id, "") if message.owner_id else ""
        message.created_by_name = names_of.get(message.created_by, "") if message.created_by else ""
        message.updated_by_name = names_of.get(message.updated_by, "") if message.updated_by else ""


class OwnerService:
    def __init__(self, page_tokens: PageTokens):
        self.page_tokens = page_tokens

    async def list_candidates(
        self, session: AsyncSession, caller: Principal, prefix: str, size: int, token: str
    ) -> tuple[list[Any], str]:
        """Users the caller may give customers to (access.owner_candidates), not disabled, whose name
        (or its pinyin: "wang" finds 王芳) starts with `prefix`, by pinyin or name."""
        prefix = prefix.strip()
        if len(prefix) > MAX_PREFIX:
            raise InvalidInput([FieldError("q", "too_long", f"at most {MAX_PREFIX} characters")])
        limit = page_size(size)
        query = ["owners", prefix]
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != query:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = (str(cursor["n"]), uuid.UUID(cursor["i"]))
        rows = await repository.candidates_page(session, owner_candidates(caller), prefix, pinyin_query(prefix),
                                                limit + 1, after)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"q": query, "n": last.sort_key, "i": str(last.user_id)})
        return rows[:limit], next_token
