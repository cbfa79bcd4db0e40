"""Tag rules: clean input, unique names, applying a tag to a customer and taking it off (and their events)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.auth import Principal
from crm_platform.customer_scope import CustomerAccess
from crm_platform.erasure import is_erased
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id
from crm_platform.pagination import PageTokens, page_size
from crm_tagging.tag import repository
from crm_tagging.tag.changes import SOURCE_MANUAL, SOURCE_RULE, announce_applied, announce_removed

__all__ = ["SOURCE_MANUAL", "SOURCE_RULE", "TagService", "clean_tag", "clean_text", "parse_id"]

MAX_NAME = 50
DEFAULT_COLOR = "#3b82f6"
COLOR_PATTERN = re.compile(r"#[0-9a-f]{6}")
# Tags one ListTags call may ask for by id.
MAX_IDS = 100


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
    def __init__(self, page_tokens: PageTokens, access: CustomerAccess):
        self.page_tokens = page_tokens
        # Data scope on customers' tags by hand (crm_tagging/access.py); rules and merges act for nobody.
        self.access = access

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

    async def with_ids(self, session: AsyncSession, tag_ids: list[str]) -> list[sa.Row[Any]]:
        """The tags among these ids that exist; malformed ids match nothing."""
        if len(tag_ids) > MAX_IDS:
            raise InvalidInput([FieldError("ids", "too_many", f"at most {MAX_IDS} ids")])
        parsed = []
        for value in tag_ids:
            try:
                parsed.append(uuid.UUID(value.strip()))
            except ValueError:
                continue
        return await repository.tags_with_ids(session, parsed) if parsed else []

    async def list_for_customer(self, session: AsyncSession, caller: Principal,
                                customer_id: str) -> list[sa.Row[Any]]:
        """The customer's tags; NotFound unless the caller may see the customer."""
        errors: list[FieldError] = []
        parsed = parse_id(customer_id, "customer_id", errors)
        if parsed is None:
            raise InvalidInput(errors)
        await self.access.require_visible(session, caller, parsed)
        return await repository.list_customer_tags(session, parsed)

    async def apply(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                    tag_id: uuid.UUID, tag_name: str, source: str, rule_id: uuid.UUID | None = None,
                    actor: str = "") -> bool:
        """Applies a tag to a customer; returns False (and emits nothing) if it already carried it.
        `tag.applied` goes to the outbox in the caller's transaction (tag/changes.py). An erased
        customer gets nothing (crm_platform/erasure.py)."""
        if await is_erased(session, tenant_id, customer_id):
            return False
        newly_applied = await repository.insert_customer_tag_if_absent(
            session, customer_id=customer_id, tag_id=tag_id, source=source, rule_id=rule_id, applied_by=actor,
        )
        if newly_applied:
            await announce_applied(session, tenant_id, customer_id=customer_id, tag_id=tag_id, tag_name=tag_name,
                                   source=source, rule_id=rule_id, actor=actor)
        return newly_applied

    async def apply_by_hand(self, session: AsyncSession, caller: Principal, *, customer_id: str,
                            tag_id: str) -> tuple[sa.Row[Any], bool]:
        """Puts a tag on a customer for a person and says whether it is new (idempotent: a tag
        already there is returned as it is). The customer must be one the caller may see (checked
        here, and by the gateway before: docs/access.md); an unknown tag is a field error on
        `tag_id`."""
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors)
        tag_uuid = parse_id(tag_id, "tag_id", errors)
        if customer is None or tag_uuid is None:
            raise InvalidInput(errors)
        tag = await repository.get_tag(session, tag_uuid)
        if tag is None:
            raise InvalidInput([FieldError("tag_id", "unknown_tag", "no tag with this id")])
        if await is_erased(session, caller.tenant_id, customer):
            raise NotFound("customer not found")
        await self.access.require_visible(session, caller, customer)
        newly_applied = await self.apply(session, caller.tenant_id, customer_id=customer, tag_id=tag_uuid,
                                         tag_name=tag.name, source=SOURCE_MANUAL, actor=caller.actor)
        applied = await repository.get_customer_tag(session, customer, tag_uuid)
        assert applied is not None  # inserted above, or already there (rows are only deleted by removal)
        return applied, newly_applied

    async def remove_by_hand(self, session: AsyncSession, caller: Principal, *, customer_id: str,
                             tag_id: str) -> sa.Row[Any]:
        """Takes a tag off a customer; NotFound when the customer does not carry it (or either id
        is malformed: a path, not a field). Returns the tag as it was on the customer."""
        try:
            customer, tag_uuid = uuid.UUID(customer_id), uuid.UUID(tag_id)
        except ValueError:
            raise NotFound("the customer does not carry this tag") from None
        await self.access.require_visible(session, caller, customer)
        carried = await repository.get_customer_tag(session, customer, tag_uuid)
        if carried is None or not await repository.delete_customer_tag(session, customer, tag_uuid):
            raise NotFound("the customer does not carry this tag")
        await announce_removed(session, caller.tenant_id, customer_id=customer, tag_id=tag_uuid,
                               tag_name=carried.tag_name, source=SOURCE_MANUAL, actor=caller.actor)
        return carried
