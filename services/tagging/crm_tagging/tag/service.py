"""Tags: clean input, unique names, the library's edits (rename, archive, merge, delete), and
applying a tag to a customer and taking it off (and their events), within the per-customer limit
and exclusive groups (docs/tagging.md)."""

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
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PreconditionFailed
from crm_platform.ids import new_id
from crm_platform.pagination import PageTokens, page_size
from crm_tagging.autotag import repository as rule_repository
from crm_tagging.category import repository as category_repository
from crm_tagging.tag import repository
from crm_tagging.tag.changes import SOURCE_MANUAL, SOURCE_RULE, announce_applied, announce_removed

__all__ = ["SOURCE_MANUAL", "SOURCE_RULE", "TagService", "clean_tag", "clean_text", "parse_id"]

MAX_NAME = 50
MAX_DESCRIPTION = 500
MAX_GROUP = 50
# Tag list `state` filter.
STATES = ("", "active", "archived")
# What `apply` did (rules record skips; a person gets an error instead).
APPLIED, ALREADY, SKIPPED_ARCHIVED, SKIPPED_LIMIT, SKIPPED_ERASED = (
    "applied", "already", "skipped_archived", "skipped_limit", "skipped_erased")
DEFAULT_COLOR = "#3b82f6"
COLOR_PATTERN = re.compile(r"#[0-9a-f]{6}")
# Tags one ListTags call may ask for by id.
MAX_IDS = 100
# The usage review covers this many tags, and suggests merging pairs sharing this share of customers.
MAX_USAGE_TAGS = 2000
OVERLAP = 0.95


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


def clean_details(description: str | None, exclusive_group: str | None,
                  errors: list[FieldError]) -> dict[str, str]:
    values: dict[str, str] = {}
    if description is not None:
        values["description"] = description.strip()
        if len(values["description"]) > MAX_DESCRIPTION:
            errors.append(FieldError("description", "too_long", f"at most {MAX_DESCRIPTION} characters"))
    if exclusive_group is not None:
        # Compared exactly after folding, so "Tier" and "tier " are one group.
        values["exclusive_group"] = clean_text(exclusive_group).casefold()
        if len(values["exclusive_group"]) > MAX_GROUP:
            errors.append(FieldError("exclusive_group", "too_long", f"at most {MAX_GROUP} characters"))
    return values


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

    async def create(self, session: AsyncSession, *, name: str, color: str, description: str = "",
                     category_id: str = "", exclusive_group: str = "") -> sa.Row[Any]:
        errors: list[FieldError] = []
        try:
            values: dict[str, Any] = clean_tag(name, color)
        except InvalidInput as invalid:
            errors += invalid.errors
            values = {}
        values |= clean_details(description, exclusive_group, errors)
        values["category_id"] = await self._category(session, category_id, errors)
        if errors:
            raise InvalidInput(errors)
        row = await repository.insert_tag(session, {**values, "id": new_id()})
        found = await repository.get_tag(session, row.id)
        assert found is not None
        return found

    async def _category(self, session: AsyncSession, category_id: str, errors: list[FieldError]) -> uuid.UUID | None:
        """A category id from a request: empty is none; unknown is `unknown_category`."""
        if not category_id.strip():
            return None
        parsed = parse_id(category_id, "category_id", errors)
        if parsed is not None and await category_repository.get_category(session, parsed) is None:
            errors.append(FieldError("category_id", "unknown_category", "no tag category with this id"))
        return parsed

    async def find(self, session: AsyncSession, tag_id: uuid.UUID) -> sa.Row[Any] | None:
        return await repository.get_tag(session, tag_id)

    async def visible(self, session: AsyncSession, caller: Principal | None) -> repository.Visible:
        """The caller's data scope as a condition on a customer id column, for counts of
        customers (a rep counts only the customers they may see); None for the system."""
        if caller is None:
            return None
        scope = await self.access.scope(session, caller)
        return lambda customer_id: self.access.condition(customer_id, scope)

    async def get(self, session: AsyncSession, tag_id: str, caller: Principal | None = None) -> sa.Row[Any]:
        """The tag with its customer count (within the caller's data scope); NotFound for an
        unknown or malformed id (a path)."""
        try:
            parsed = uuid.UUID(tag_id)
        except ValueError:
            raise NotFound("no tag with this id") from None
        row = await repository.get_tag(session, parsed, await self.visible(session, caller))
        if row is None:
            raise NotFound("no tag with this id")
        return row

    async def _locked(self, session: AsyncSession, tag_id: str, expected_version: int = 0) -> sa.Row[Any]:
        current = await self.get(session, tag_id)
        locked = await repository.lock_tag(session, current.id)
        if locked is None:
            raise NotFound("no tag with this id")
        if expected_version and locked.version != expected_version:
            raise PreconditionFailed("the tag has changed since you read it",
                                     extra={"current_version": locked.version})
        return locked

    async def update(self, session: AsyncSession, tag_id: str, *, caller: Principal | None = None,
                     expected_version: int = 0,
                     name: str | None = None, color: str | None = None, description: str | None = None,
                     category_id: str | None = None, exclusive_group: str | None = None,
                     archived: bool | None = None) -> sa.Row[Any]:
        """Changes the fields given (None: unchanged). Renaming keeps every customer's tag (they
        hold the id); archiving keeps them too and stops new applications."""
        current = await self._locked(session, tag_id, expected_version)
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        if name is not None or color is not None:
            try:
                cleaned = clean_tag(current.name if name is None else name,
                                    current.color if color is None else color)
                values |= {k: v for k, v in cleaned.items() if (k == "name" and name is not None)
                           or (k == "color" and color is not None)}
            except InvalidInput as invalid:
                errors += invalid.errors
        values |= clean_details(description, exclusive_group, errors)
        if category_id is not None:
            values["category_id"] = await self._category(session, category_id, errors)
        if errors:
            raise InvalidInput(errors)
        if archived is not None and archived != (current.archived_at is not None):
            values["archived_at"] = sa.func.now() if archived else None
        if values:
            await repository.update_tag(session, current.id, values)
        return await self.get(session, tag_id, caller)

    async def delete(self, session: AsyncSession, tenant_id: uuid.UUID | str, actor: str, tag_id: str,
                     expected_version: int = 0) -> tuple[sa.Row[Any], int, int]:
        """Takes the tag off every customer (a `tag.removed` each, so customers' projection
        follows) and deletes it with its rules; returns the tag as it was, the customers it was
        taken off and the rules deleted."""
        shown = await self.get(session, tag_id)
        tag = await self._locked(session, tag_id, expected_version)
        carried = await repository.customers_carrying(session, tag.id)
        for row in carried:
            await announce_removed(session, tenant_id, customer_id=row.customer_id, tag_id=tag.id, tag_name=tag.name,
                                   source=SOURCE_MANUAL, actor=actor)
        await repository.take_tag_off_everyone(session, tag.id)
        rules = await rule_repository.delete_rules_of_tag(session, tag.id)
        await repository.delete_tag(session, tag.id)
        return shown, len(carried), rules

    async def merge(self, session: AsyncSession, tenant_id: uuid.UUID | str, actor: str, *, source_tag_id: str,
                    target_tag_id: str) -> tuple[sa.Row[Any], int, int, int]:
        """Moves the source tag's customers and rules to the target and deletes the source.
        A customer carrying both keeps the target; every change is announced. Returns the
        target, customers moved, customers who already had the target, rules moved."""
        errors: list[FieldError] = []
        source_id = parse_id(source_tag_id, "source_tag_id", errors)
        target_id = parse_id(target_tag_id, "target_tag_id", errors)
        if source_id is not None and source_id == target_id:
            errors.append(FieldError("target_tag_id", "same_tag", "a tag cannot be merged into itself"))
        if errors:
            raise InvalidInput(errors)
        assert source_id is not None and target_id is not None
        # Locked in id order, so two merges of the same pair in opposite directions cannot deadlock.
        locked = {}
        for tag_uuid in sorted((source_id, target_id)):
            row = await repository.lock_tag(session, tag_uuid)
            if row is None:
                field = "source_tag_id" if tag_uuid == source_id else "target_tag_id"
                raise InvalidInput([FieldError(field, "unknown_tag", "no tag with this id")])
            locked[tag_uuid] = row
        source, target = locked[source_id], locked[target_id]
        carried = await repository.customers_carrying(session, source.id)
        customer_ids = [row.customer_id for row in carried]
        both = await repository.carriers_among(session, target.id, customer_ids)
        movers = [row for row in carried if row.customer_id not in both]
        await repository.move_tag(session, source.id, target.id, [row.customer_id for row in movers])
        for row in carried:
            await announce_removed(session, tenant_id, customer_id=row.customer_id, tag_id=source.id,
                                   tag_name=source.name, source=SOURCE_MANUAL, actor=actor)
        for row in movers:
            await announce_applied(session, tenant_id, customer_id=row.customer_id, tag_id=target.id,
                                   tag_name=target.name, source=row.source, rule_id=row.rule_id,
                                   actor=row.applied_by or actor)
        rules = await rule_repository.repoint_rules(session, source.id, target.id)
        await repository.take_tag_off_everyone(session, source.id)
        await repository.delete_tag(session, source.id)
        return await self.get(session, str(target.id)), len(movers), len(both), rules

    async def settings(self, session: AsyncSession) -> sa.Row[Any]:
        return await repository.get_settings(session)

    async def update_settings(self, session: AsyncSession, *, max_tags_per_customer: int | None,
                              expected_version: int = 0) -> sa.Row[Any]:
        current = await repository.get_settings(session)
        if expected_version and current.version != expected_version:
            raise PreconditionFailed("the settings have changed since you read them",
                                     extra={"current_version": current.version})
        values: dict[str, Any] = {}
        if max_tags_per_customer is not None:
            if not 1 <= max_tags_per_customer <= 100:
                raise InvalidInput([FieldError("max_tags_per_customer", "out_of_range",
                                               "max_tags_per_customer must be between 1 and 100")])
            values["max_tags_per_customer"] = max_tags_per_customer
        if not values:
            return current
        return await repository.update_settings(session, values)

    async def list_page(self, session: AsyncSession, *, size: int, token: str, category_id: str = "",
                        state: str = "", caller: Principal | None = None) -> tuple[list[sa.Row[Any]], str]:
        errors: list[FieldError] = []
        filters: dict[str, Any] = {}
        if category_id == "none":
            filters["uncategorised"] = True
        elif category_id:
            filters["category_id"] = parse_id(category_id, "category_id", errors)
        if state not in STATES:
            errors.append(FieldError("state", "invalid_choice", "state must be active or archived"))
        elif state:
            filters["archived"] = state == "archived"
        if errors:
            raise InvalidInput(errors)
        limit = page_size(size)
        after = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("k") != "tags" or cursor.get("f") != [category_id, state]:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            after = (datetime.fromisoformat(cursor["c"]), uuid.UUID(cursor["i"]))
        rows = await repository.list_tags_page(session, limit=limit + 1, after=after,
                                               visible=await self.visible(session, caller), **filters)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"k": "tags", "c": last.created_at.isoformat(),
                                                  "i": str(last.id), "f": [category_id, state]})
        return rows[:limit], next_token

    async def with_ids(self, session: AsyncSession, tag_ids: list[str],
                       caller: Principal | None = None) -> list[sa.Row[Any]]:
        """The tags among these ids that exist; malformed ids match nothing."""
        if len(tag_ids) > MAX_IDS:
            raise InvalidInput([FieldError("ids", "too_many", f"at most {MAX_IDS} ids")])
        parsed = []
        for value in tag_ids:
            try:
                parsed.append(uuid.UUID(value.strip()))
            except ValueError:
                continue
        if not parsed:
            return []
        return await repository.tags_with_ids(session, parsed, await self.visible(session, caller))

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
        """Applies a tag to a customer; returns False (and emits nothing) if it already carried it
        or the tag could not be applied (archived, the customer at the limit, erased)."""
        return await self.apply_checked(session, tenant_id, customer_id=customer_id, tag_id=tag_id, source=source,
                                        rule_id=rule_id, actor=actor) == APPLIED

    async def apply_checked(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                            tag_id: uuid.UUID, source: str, rule_id: uuid.UUID | None = None,
                            actor: str = "", trigger: str = "") -> str:
        """Applies a tag to a customer and says what happened (APPLIED, ALREADY or a SKIPPED_*).
        `tag.applied` goes to the outbox in the caller's transaction (tag/changes.py).

        In order: an erased customer gets nothing (crm_platform/erasure.py); an archived tag is
        applied no more; a tag of an exclusive group replaces the customer's other tag of that
        group (announced as removed); then the per-customer limit (tagging_settings) must leave
        room. The customer's tag changes are serialised by an advisory lock, so concurrent
        applies cannot pass the limit together."""
        if await is_erased(session, tenant_id, customer_id):
            return SKIPPED_ERASED
        tag = await repository.get_tag(session, tag_id)
        if tag is None:
            return SKIPPED_ARCHIVED
        await repository.lock_customer(session, customer_id)
        if await repository.get_customer_tag(session, customer_id, tag_id) is not None:
            return ALREADY
        if tag.archived_at is not None:
            return SKIPPED_ARCHIVED
        replaced = []
        if tag.exclusive_group:
            replaced = await repository.customer_tags_in_group(session, customer_id, tag.exclusive_group, tag.id)
        limit = (await repository.get_settings(session)).max_tags_per_customer
        if await repository.customer_tag_count(session, customer_id) - len(replaced) >= limit:
            return SKIPPED_LIMIT
        for old in replaced:
            await repository.delete_customer_tag(session, customer_id, old.tag_id)
            await announce_removed(session, tenant_id, customer_id=customer_id, tag_id=old.tag_id,
                                   tag_name=old.tag_name, source=source, actor=actor, rule_id=rule_id)
        newly_applied = await repository.insert_customer_tag_if_absent(
            session, customer_id=customer_id, tag_id=tag_id, source=source, rule_id=rule_id, applied_by=actor,
            trigger=trigger,
        )
        if not newly_applied:
            return ALREADY
        await announce_applied(session, tenant_id, customer_id=customer_id, tag_id=tag_id, tag_name=tag.name,
                               source=source, rule_id=rule_id, actor=actor)
        return APPLIED

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
        outcome = await self.apply_checked(session, caller.tenant_id, customer_id=customer, tag_id=tag_uuid,
                                           source=SOURCE_MANUAL, actor=caller.actor)
        if outcome == SKIPPED_ARCHIVED:
            raise InvalidInput([FieldError("tag_id", "tag_archived", "this tag is archived")])
        if outcome == SKIPPED_LIMIT:
            limit = (await repository.get_settings(session)).max_tags_per_customer
            raise Conflict(f"the customer already carries the most tags allowed ({limit}); remove one first",
                           code="tag_limit_reached", extra={"limit": limit, "field": "tag_id"})
        newly_applied = outcome == APPLIED
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

    async def usage(self, session: AsyncSession, caller: Principal | None) -> tuple[
            list[tuple[sa.Row[Any], sa.Row[Any] | None]], list[sa.Row[Any]]]:
        """The usage review: every tag with its history counts, and overlapping pairs (>= 95%)."""
        visible = await self.visible(session, caller)
        history = await repository.usage_history(session, visible)
        rows = await repository.list_tags_page(session, limit=MAX_USAGE_TAGS, after=None, visible=visible)
        return [(row, history.get(row.id)) for row in rows], await repository.overlaps(session, visible, OVERLAP)
