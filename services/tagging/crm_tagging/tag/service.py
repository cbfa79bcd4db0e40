"""Tag rules: clean input, unique names, applying a tag to a customer (and its event)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import outbox
from crm_platform.erasure import is_erased
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.events import proto_data
from crm_platform.ids import new_id
from crm_platform.pagination import PageTokens, page_size
from crm_proto.crm.events.v1 import events_pb2
from crm_tagging.tag import repository

SOURCE = "crm/tagging"
MAX_NAME = 50
DEFAULT_COLOR = "#3b82f6"
COLOR_PATTERN = re.compile(r"#[0-9a-f]{6}")
# Where a customer's tag came from (customer_tags.source, TagApplied.source).
SOURCE_RULE = "rule"
SOURCE_MANUAL = "manual"


def clean_text(value: str) -> str:
    """Trim, and fold full-width characters to half-width (NFKC), as pasted text often has them."""
    return unicodedata.normalize("NFKC", value).strip()


def clean_tag(name: str, color: str) -> dict[str, str]:
    """The stored form of a new tag, or InvalidInput naming every bad field."""
    errors: list[FieldError] = []
    name = clean_text(name)
    if not name:
        errors.append(FieldError("name", "required", "name is required"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", "too_long", f"at most {MAX_NAME} characters"))
    color = color.strip().lower() or DEFAULT_COLOR
    if not COLOR_PATTERN.fullmatch(color):
        errors.append(FieldError("color", "invalid_color", "color must look like #rrggbb"))
    if errors:
        raise InvalidInput(errors)
    return {"name": name, "color": color}


def parse_id(value: str, field: str, errors: list[FieldError]) -> uuid.UUID | None:
    """An id from a request field: `required` when blank, `invalid_id` when malformed."""
    if not value.strip():
        errors.append(FieldError(field, "required", f"{field} is required"))
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        errors.append(FieldError(field, "invalid_id", f"{field} is not a valid id"))
        return None


class TagService:
    def __init__(self, page_tokens: PageTokens):
        self.page_tokens = page_tokens

    async def create(self, session: AsyncSession, *, name: str, color: str) -> sa.Row[Any]:
        return await repository.insert_tag(session, {**clean_tag(name, color), "id": new_id()})

    async def find(self, session: AsyncSession, tag_id: uuid.UUID) -> sa.Row[Any] | None:
        return await repository.get_tag(session, tag_id)

    async def list_page(self, session: AsyncSession, *, size: int, token: str) -> tuple[list[sa.Row[Any]], str]:
        limit = page_size(size)
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("k") != "tags":
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = (datetime.fromisoformat(cursor["c"]), uuid.UUID(cursor["i"]))
        rows = await repository.list_tags_page(session, limit=limit + 1, after=after)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"k": "tags", "c": last.created_at.isoformat(),
                                                  "i": str(last.id)})
        return rows[:limit], next_token

    async def list_for_customer(self, session: AsyncSession, customer_id: str) -> list[sa.Row[Any]]:
        errors: list[FieldError] = []
        parsed = parse_id(customer_id, "customer_id", errors)
        if parsed is None:
            raise InvalidInput(errors)
        return await repository.list_customer_tags(session, parsed)

    async def apply(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                    tag_id: uuid.UUID, tag_name: str, source: str, rule_id: uuid.UUID | None = None) -> bool:
        """Applies a tag to a customer; returns False (and emits nothing) if it already carried it.
        `tag.applied` is written to the outbox in the caller's transaction, so it is published
        exactly when the tag row commits. An erased customer gets nothing (crm_platform/erasure.py)."""
        if await is_erased(session, tenant_id, customer_id):
            return False
        newly_applied = await repository.insert_customer_tag_if_absent(
            session, customer_id=customer_id, tag_id=tag_id, source=source, rule_id=rule_id,
        )
        if newly_applied:
            applied = events_pb2.TagApplied(customer_id=str(customer_id), tag_id=str(tag_id),
                                            tag_name=tag_name, source=source, rule_id=str(rule_id or ""))
            await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="tag",
                                   verb="applied", data=proto_data(applied), subject_id=str(customer_id))
        return newly_applied
