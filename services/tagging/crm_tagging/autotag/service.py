"""Auto-tag rules: validating them, and applying the tags whose rules a customer matches.

A tag is never removed when a rule stops matching (a customer who was once "VIP" keeps the tag
until someone removes it): rules add knowledge, they do not keep tags in sync with fields.
Rules apply to customers created or updated after the rule exists; re-evaluating existing
customers is a sweep job, not part of this service yet."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id
from crm_tagging.autotag import repository
from crm_tagging.autotag.matching import FIELDS, OPERATORS, Rule, tags_to_apply
from crm_tagging.tag.service import SOURCE_RULE, TagService, clean_text, parse_id

MAX_VALUE = 200


def _clean_choice(value: str, field: str, choices: tuple[str, ...], errors: list[FieldError]) -> str:
    cleaned = value.strip().lower()
    if cleaned not in choices:
        errors.append(FieldError(field, "invalid_choice", f"{field} must be one of {', '.join(choices)}"))
    return cleaned


def _clean_value(value: str, errors: list[FieldError]) -> str:
    cleaned = clean_text(value)
    if not cleaned:
        errors.append(FieldError("value", "required", "value is required"))
    elif len(cleaned) > MAX_VALUE:
        errors.append(FieldError("value", "too_long", f"at most {MAX_VALUE} characters"))
    return cleaned


def _rule(row: sa.Row[Any]) -> Rule:
    return Rule(id=row.id, tag_id=row.tag_id, tag_name=row.tag_name, field=row.field, operator=row.operator,
                value=row.value)


class AutoTagService:
    def __init__(self, tags: TagService):
        self.tags = tags

    async def create_rule(self, session: AsyncSession, *, tag_id: str, field: str, operator: str,
                          value: str) -> sa.Row[Any]:
        errors: list[FieldError] = []
        parsed_tag_id = parse_id(tag_id, "tag_id", errors)
        values = {
            "field": _clean_choice(field, "field", FIELDS, errors),
            "operator": _clean_choice(operator, "operator", OPERATORS, errors),
            "value": _clean_value(value, errors),
        }
        if parsed_tag_id is not None and await self.tags.find(session, parsed_tag_id) is None:
            errors.append(FieldError("tag_id", "not_found", "no tag with this id"))
        if errors:
            raise InvalidInput(errors)
        return await repository.insert_rule(session, {**values, "id": new_id(), "tag_id": parsed_tag_id,
                                                      "enabled": True})

    async def list_rules(self, session: AsyncSession) -> list[sa.Row[Any]]:
        return await repository.list_rules(session)

    async def tag_customer(self, session: AsyncSession, tenant_id: uuid.UUID | str, customer_id: uuid.UUID,
                           fields: Mapping[str, Any]) -> list[Rule]:
        """Applies every tag whose enabled rules the customer's fields match; returns the rules
        whose tags were newly applied (each of those wrote one tag.applied event)."""
        rules = [_rule(row) for row in await repository.enabled_rules_with_tag_names(session)]
        return await self._apply_rules(session, tenant_id, customer_id, fields, rules)

    async def tag_customers(self, session: AsyncSession, tenant_id: uuid.UUID | str,
                            customers: Sequence[tuple[uuid.UUID, Mapping[str, Any]]]) -> list[Rule]:
        """`tag_customer` for a batch (an import's `customer.imported`): the rules are read once."""
        rules = [_rule(row) for row in await repository.enabled_rules_with_tag_names(session)]
        applied: list[Rule] = []
        if rules:
            for customer_id, fields in customers:
                applied += await self._apply_rules(session, tenant_id, customer_id, fields, rules)
        return applied

    async def _apply_rules(self, session: AsyncSession, tenant_id: uuid.UUID | str, customer_id: uuid.UUID,
                           fields: Mapping[str, Any], rules: list[Rule]) -> list[Rule]:
        newly_applied: list[Rule] = []
        for rule in tags_to_apply(rules, fields):
            if await self.tags.apply(session, tenant_id, customer_id=customer_id, tag_id=rule.tag_id,
                                     tag_name=rule.tag_name, source=SOURCE_RULE, rule_id=rule.id):
                newly_applied.append(rule)
        return newly_applied
