"""Auto-tag rules (docs/tagging.md, "Rules"): validating them, previewing who matches, and
applying or removing their tags — for one customer when an event changes its facts, and for every
customer in a sweep (scheduled daily for time-based conditions, or a re-run asked for by a person).

Rules add or remove; a tag is never taken off because a rule stopped matching (a customer once
"VIP" keeps the tag until someone, or a `remove` rule, takes it off). Rules run in priority order
(lower first, then creation), so under the per-customer limit the earlier rules' tags win; a rule
whose tag does not fit is skipped for that customer (TagService.apply_checked)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import jobs, scheduler
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput, NotFound, PreconditionFailed
from crm_platform.ids import new_id
from crm_tagging.autotag import repository
from crm_tagging.autotag.conditions import clean_conditions, compile_conditions, is_time_based
from crm_tagging.autotag.tables import rule_facts
from crm_tagging.tag import repository as tag_repository
from crm_tagging.tag.changes import SOURCE_RULE, Change, announce_many, announce_removed
from crm_tagging.tag.service import APPLIED, TagService, clean_text, parse_id

MAX_NAME = 100
ACTIONS = ("add", "remove")
LEGACY_OPERATORS = ("equals", "contains")
# The first version's fields (its API validated these; the tree knows more).
LEGACY_FIELDS = ("industry", "region", "status", "type", "name", "email", "mobile")
MAX_RULES = 200
SAMPLE = 20
# The daily sweep of each tenant with rules (crm_platform/scheduler.py) and the job it enqueues.
SWEEP_SCHEDULE = "tagging.rule_sweep"
SWEEP_JOB = "tagging.rule_sweep"
SWEEP_RRULE = "FREQ=DAILY;BYHOUR=3;BYMINUTE=0;BYSECOND=0"
SWEEP_TIME_ZONE = "Asia/Shanghai"
# Customers per sweep chunk: the job commits each chunk (a few seconds of work at most).
SWEEP_CHUNK = 50_000


@dataclass(frozen=True)
class Rule:
    """A rule as the evaluator uses it: its tag and compiled condition."""

    id: uuid.UUID
    tag_id: uuid.UUID
    tag_name: str
    tag_group: str
    action: str
    condition: sa.ColumnElement[bool]


def _rule(row: sa.Row[Any]) -> Rule:
    return Rule(id=row.id, tag_id=row.tag_id, tag_name=row.tag_name, tag_group=row.tag_group or "",
                action=row.action, condition=compile_conditions(row.conditions))


def _legacy_tree(field: str, operator: str, value: str, errors: list[FieldError]) -> dict[str, Any] | None:
    """The first version's single condition (field, operator, value) as a tree."""
    field, operator = field.strip().lower(), operator.strip().lower()
    if field not in LEGACY_FIELDS:
        errors.append(FieldError("field", "invalid_choice", f"field must be one of {', '.join(LEGACY_FIELDS)}"))
    if operator not in LEGACY_OPERATORS:
        errors.append(FieldError("operator", "invalid_choice", "operator must be one of equals, contains"))
    if not clean_text(value):
        errors.append(FieldError("value", "required", "value is required"))
    elif len(clean_text(value)) > 200:
        errors.append(FieldError("value", "too_long", "at most 200 characters"))
    return None if errors else {"field": field, "op": operator, "value": value}


def _parse_rule_id(rule_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(rule_id)
    except ValueError:
        raise NotFound("no tag rule with this id") from None


@dataclass(frozen=True)
class RuleInput:
    """A create or update request; None: not given (update leaves it unchanged)."""

    tag_id: str | None = None
    name: str | None = None
    conditions_json: str | None = None
    field: str = ""
    operator: str = ""
    value: str = ""
    action: str | None = None
    priority: int | None = None
    enabled: bool | None = None


class AutoTagService:
    def __init__(self, tags: TagService):
        self.tags = tags

    # -- rules ----------------------------------------------------------------------------------

    async def _clean(self, session: AsyncSession, given: RuleInput, *, creating: bool) -> dict[str, Any]:
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        if given.tag_id is not None or creating:
            tag_id = parse_id(given.tag_id or "", "tag_id", errors)
            if tag_id is not None:
                tag = await self.tags.find(session, tag_id)
                if tag is None:
                    errors.append(FieldError("tag_id", "not_found", "no tag with this id"))
                elif tag.archived_at is not None:
                    errors.append(FieldError("tag_id", "tag_archived", "this tag is archived"))
                values["tag_id"] = tag_id
        if given.name is not None:
            values["name"] = clean_text(given.name)
            if len(values["name"]) > MAX_NAME:
                errors.append(FieldError("name", "too_long", f"at most {MAX_NAME} characters"))
        if given.conditions_json:
            try:
                tree = json.loads(given.conditions_json)
            except ValueError:
                errors.append(FieldError("conditions", "invalid_condition", "conditions are not JSON"))
            else:
                try:
                    values["conditions"] = clean_conditions(tree)
                except InvalidInput as invalid:
                    errors += invalid.errors
        elif creating:
            legacy = _legacy_tree(given.field, given.operator, given.value, errors)
            if legacy is not None:
                values["conditions"] = clean_conditions(legacy)
                values |= {"field": legacy["field"], "operator": legacy["op"], "value": clean_text(given.value)}
        if given.action is not None:
            if given.action not in ACTIONS:
                errors.append(FieldError("action", "invalid_choice", "action must be add or remove"))
            values["action"] = given.action
        if given.priority is not None:
            if not 0 <= given.priority <= 10_000:
                errors.append(FieldError("priority", "out_of_range", "priority must be between 0 and 10000"))
            values["priority"] = given.priority
        if given.enabled is not None:
            values["enabled"] = given.enabled
        if errors:
            raise InvalidInput(errors)
        return values

    async def create_rule(self, session: AsyncSession, tenant_id: uuid.UUID | str, given: RuleInput) -> sa.Row[Any]:
        values = await self._clean(session, given, creating=True)
        if len(await repository.list_rules(session)) >= MAX_RULES:
            raise InvalidInput([FieldError("tag_id", "too_many_rules", f"at most {MAX_RULES} rules")])
        row = await repository.insert_rule(session, {"enabled": True, "action": "add", "priority": 100,
                                                     **values, "id": new_id()})
        await self._keep_sweep_scheduled(session, tenant_id)
        return await self.get_rule(session, str(row.id))

    async def get_rule(self, session: AsyncSession, rule_id: str) -> sa.Row[Any]:
        row = await repository.get_rule(session, _parse_rule_id(rule_id))
        if row is None:
            raise NotFound("no tag rule with this id")
        return row

    async def list_rules(self, session: AsyncSession) -> list[sa.Row[Any]]:
        return await repository.list_rules(session)

    async def update_rule(self, session: AsyncSession, tenant_id: uuid.UUID | str, rule_id: str, given: RuleInput,
                          expected_version: int = 0) -> sa.Row[Any]:
        current = await repository.get_rule(session, _parse_rule_id(rule_id), lock=True)
        if current is None:
            raise NotFound("no tag rule with this id")
        if expected_version and current.version != expected_version:
            raise PreconditionFailed("the rule has changed since you read it",
                                     extra={"current_version": current.version})
        values = await self._clean(session, given, creating=False)
        if values:
            await repository.update_rule(session, current.id, values)
            await self._keep_sweep_scheduled(session, tenant_id)
        return await self.get_rule(session, rule_id)

    async def delete_rule(self, session: AsyncSession, tenant_id: uuid.UUID | str, rule_id: str, *,
                          take_back: bool, actor: str = "") -> tuple[sa.Row[Any], int]:
        """Deletes the rule; with `take_back`, first takes off the tags it applied that are still
        credited to it (a person's later manual apply is not). Returns the rule and that count."""
        current = await repository.get_rule(session, _parse_rule_id(rule_id), lock=True)
        if current is None:
            raise NotFound("no tag rule with this id")
        taken = 0
        if take_back:
            rows = await repository.take_back(session, current.id)
            await announce_many(session, tenant_id, "removed",
                                [Change(r.customer_id, r.tag_id, current.tag_name, current.id) for r in rows],
                                source=SOURCE_RULE, actor=actor)
            taken = len(rows)
        await repository.delete_rule(session, current.id)
        return current, taken

    async def _keep_sweep_scheduled(self, session: AsyncSession, tenant_id: uuid.UUID | str) -> None:
        """Every tenant with rules has the daily sweep; schedule() upserts, so this is idempotent."""
        tenant = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
        existing = await scheduler.get(session, tenant, SWEEP_SCHEDULE, "daily")
        if existing is None:
            await scheduler.schedule(session, tenant, SWEEP_SCHEDULE, "daily", rrule=SWEEP_RRULE,
                                     time_zone=SWEEP_TIME_ZONE, payload={})

    # -- preview ---------------------------------------------------------------------------------

    async def preview(self, session: AsyncSession, caller: Principal, conditions_json: str
                      ) -> tuple[int, list[uuid.UUID], bool]:
        """How many customers the caller may see match, a sample of their ids, and whether the
        conditions depend on time (they then need the daily sweep)."""
        try:
            tree = clean_conditions(json.loads(conditions_json or "null"))
        except ValueError:
            raise InvalidInput([FieldError("conditions", "invalid_condition", "conditions are not JSON")]) from None
        visible = await self.tags.visible(session, caller)
        count, sample = await repository.count_and_sample(
            session, compile_conditions(tree), visible(rule_facts.c.customer_id) if visible else None, SAMPLE)
        return count, sample, is_time_based(tree)

    # -- evaluation ------------------------------------------------------------------------------

    async def tag_customer(self, session: AsyncSession, tenant_id: uuid.UUID | str, customer_id: uuid.UUID,
                           trigger: str = "") -> list[Rule]:
        """Runs every enabled rule for one customer (after an event changed its facts): adds the
        tags of matching `add` rules that fit, takes off those of matching `remove` rules.
        Returns the rules whose tags were newly applied."""
        rules = [_rule(row) for row in await repository.enabled_rules(session)]
        matched = await repository.matches_of_customer(session, customer_id, [r.condition for r in rules])
        if not matched:
            return []
        applied: list[Rule] = []
        for rule, hit in zip(rules, matched, strict=True):
            if not hit:
                continue
            if rule.action == "remove":
                if await tag_repository.delete_customer_tag(session, customer_id, rule.tag_id):
                    await announce_removed(session, tenant_id, customer_id=customer_id, tag_id=rule.tag_id,
                                           tag_name=rule.tag_name, source=SOURCE_RULE, rule_id=rule.id)
                continue
            outcome = await self.tags.apply_checked(session, tenant_id, customer_id=customer_id, tag_id=rule.tag_id,
                                                    source=SOURCE_RULE, rule_id=rule.id, trigger=trigger)
            if outcome == APPLIED:
                applied.append(rule)
        return applied

    async def sweep_chunk(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, trigger: str,
                          rule_ids: Sequence[uuid.UUID] | None = None, after: uuid.UUID | None = None,
                          size: int = SWEEP_CHUNK) -> tuple[dict[str, int], uuid.UUID | None]:
        """Runs the enabled rules (or these) over the next `size` customers after `after` (by id),
        set-based: one statement per rule in rule order, which also writes every change's history
        row and `tag.applied` / `tag.removed` event (autotag/repository.py `sweep_apply`). Rules
        run in order within a chunk, so a customer's limit and exclusive groups work out as in one
        pass. Returns the counts and the chunk's last customer, None when this was the last chunk
        (the rules are then marked as run)."""
        limit = (await tag_repository.get_settings(session)).max_tags_per_customer
        rules = [_rule(row) for row in await repository.enabled_rules(session, rule_ids)]
        upto = await repository.chunk_end(session, after, size)
        applied = removed = 0
        for rule in rules:
            if rule.action == "remove":
                swept = await repository.sweep_remove(session, tenant_id, rule_id=rule.id, tag_id=rule.tag_id,
                                                      tag_name=rule.tag_name, condition=rule.condition,
                                                      after=after, upto=upto)
            else:
                swept = await repository.sweep_apply(
                    session, tenant_id, rule_id=rule.id, tag_id=rule.tag_id, tag_name=rule.tag_name,
                    group=rule.tag_group, condition=rule.condition, limit=limit, trigger=trigger,
                    after=after, upto=upto)
            applied += swept.applied
            removed += swept.removed
        if upto is None:
            await repository.mark_run(session, [r.id for r in rules])
        return {"rules": len(rules), "applied": applied, "removed": removed}, upto

    async def sweep(self, session: AsyncSession, tenant_id: uuid.UUID | str, *, trigger: str,
                    rule_ids: Sequence[uuid.UUID] | None = None, size: int = SWEEP_CHUNK) -> dict[str, int]:
        """Every chunk of `sweep_chunk` in the caller's transaction (the job commits per chunk
        instead: autotag/sweeps.py). Returns counts of tags applied and removed."""
        applied = removed = 0
        after: uuid.UUID | None = None
        while True:
            result, after = await self.sweep_chunk(session, tenant_id, trigger=trigger, rule_ids=rule_ids,
                                                   after=after, size=size)
            applied, removed = applied + result["applied"], removed + result["removed"]
            if after is None:
                return {"rules": result["rules"], "applied": applied, "removed": removed}

    async def request_rerun(self, session: AsyncSession, tenant_id: uuid.UUID | str, rule_id: str) -> uuid.UUID:
        """Queues a re-run of one rule over existing customers (a job); returns the job id."""
        rule = await self.get_rule(session, rule_id)
        tenant = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
        return await jobs.enqueue(session, SWEEP_JOB, {"rule_ids": [str(rule.id)], "trigger": "rerun"},
                                  tenant_id=tenant)
