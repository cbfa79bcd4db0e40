"""Every SQL statement about auto-tag rules and their evaluation over `rule_facts`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import outbox
from crm_platform.tables import outbox as outbox_table
from crm_tagging.autotag.tables import rule_facts, sweep_progress, tag_rules
from crm_tagging.tag.changes import SOURCE as TAGGING_SOURCE
from crm_tagging.tag.changes import SOURCE_RULE
from crm_tagging.tag.tables import customer_tags, tag_change_seq, tag_history, tags

# Rule order everywhere: priority (lower first), then creation.
RULE_ORDER = (tag_rules.c.priority, tag_rules.c.created_at, tag_rules.c.id)


def _with_tag() -> sa.Select[Any]:
    return (sa.select(tag_rules, tags.c.name.label("tag_name"), tags.c.exclusive_group.label("tag_group"),
                      tags.c.archived_at.label("tag_archived_at"))
            .join(tags, tags.c.id == tag_rules.c.tag_id))


async def insert_rule(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(tag_rules).values(**values).returning(tag_rules))).one()


async def get_rule(session: AsyncSession, rule_id: uuid.UUID, *, lock: bool = False) -> sa.Row[Any] | None:
    query = _with_tag().where(tag_rules.c.id == rule_id)
    if lock:
        query = query.with_for_update(of=tag_rules)
    return (await session.execute(query)).first()


async def list_rules(session: AsyncSession) -> list[sa.Row[Any]]:
    return list((await session.execute(_with_tag().order_by(*RULE_ORDER))).all())


async def enabled_rules(session: AsyncSession, rule_ids: Sequence[uuid.UUID] | None = None) -> list[sa.Row[Any]]:
    """Enabled rules of tags not archived, in rule order."""
    query = _with_tag().where(tag_rules.c.enabled, tags.c.archived_at.is_(None)).order_by(*RULE_ORDER)
    if rule_ids is not None:
        query = query.where(tag_rules.c.id.in_(rule_ids))
    return list((await session.execute(query)).all())


# Kept for callers of the first version (crm_tagging/autotag/service.py uses enabled_rules).
enabled_rules_with_tag_names = enabled_rules


async def update_rule(session: AsyncSession, rule_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(sa.update(tag_rules).where(tag_rules.c.id == rule_id).values(
        **values, version=tag_rules.c.version + 1, updated_at=sa.func.now()))


async def mark_run(session: AsyncSession, rule_ids: Sequence[uuid.UUID]) -> None:
    if rule_ids:
        await session.execute(sa.update(tag_rules).where(tag_rules.c.id.in_(rule_ids))
                              .values(last_run_at=sa.func.now()))


async def delete_rule(session: AsyncSession, rule_id: uuid.UUID) -> None:
    await session.execute(sa.delete(tag_rules).where(tag_rules.c.id == rule_id))


async def delete_rules_of_tag(session: AsyncSession, tag_id: uuid.UUID) -> int:
    deleted = await session.execute(sa.delete(tag_rules).where(tag_rules.c.tag_id == tag_id).returning(tag_rules.c.id))
    return len(deleted.all())


async def repoint_rules(session: AsyncSession, from_tag: uuid.UUID, to_tag: uuid.UUID) -> int:
    moved = await session.execute(sa.update(tag_rules).where(tag_rules.c.tag_id == from_tag)
                                  .values(tag_id=to_tag).returning(tag_rules.c.id))
    return len(moved.all())


async def matches_of_customer(session: AsyncSession, customer_id: uuid.UUID,
                              conditions: Sequence[sa.ColumnElement[bool]]) -> list[bool] | None:
    """Whether the customer matches each condition (one query for every rule); None when the
    projection does not hold the customer or it is deleted."""
    if not conditions:
        return []
    row = (await session.execute(
        sa.select(*(sa.func.coalesce(c, sa.false()).label(f"m{i}") for i, c in enumerate(conditions)))
        .where(rule_facts.c.customer_id == customer_id, ~rule_facts.c.deleted)
    )).first()
    return None if row is None else [bool(v) for v in row]


async def count_and_sample(session: AsyncSession, condition: sa.ColumnElement[bool],
                           visible: sa.ColumnElement[bool] | None, sample: int) -> tuple[int, list[uuid.UUID]]:
    where = [~rule_facts.c.deleted, condition]
    if visible is not None:
        where.append(visible)
    count = int((await session.execute(sa.select(sa.func.count()).select_from(rule_facts).where(*where)))
                .scalar_one())
    ids = (await session.execute(sa.select(rule_facts.c.customer_id).where(*where)
                                 .order_by(rule_facts.c.customer_id).limit(sample))).scalars().all()
    return count, list(ids)


class Taken(NamedTuple):
    """A tag a rule took off a customer."""

    customer_id: uuid.UUID
    tag_id: uuid.UUID
    tag_name: str


async def take_back(session: AsyncSession, rule_id: uuid.UUID) -> list[Taken]:
    """Takes off every tag this rule applied (and nobody re-applied by hand since); returns the
    rows (customer_id, tag_id)."""
    deleted = await session.execute(
        sa.delete(customer_tags).where(customer_tags.c.rule_id == rule_id, customer_tags.c.source == "rule")
        .returning(customer_tags.c.customer_id, customer_tags.c.tag_id)
    )
    return [Taken(row.customer_id, row.tag_id, "") for row in deleted]


async def existing_rule_ids(session: AsyncSession) -> set[uuid.UUID]:
    return set((await session.execute(sa.select(tag_rules.c.id))).scalars())


# -- the sweep, set-based and announced in SQL ---------------------------------------------------


async def chunk_end(session: AsyncSession, after: uuid.UUID | None, size: int) -> uuid.UUID | None:
    """The last customer of the next `size` customers (by id) after `after`; None when fewer are
    left (the chunk then runs to the end)."""
    query = sa.select(rule_facts.c.customer_id).order_by(rule_facts.c.customer_id).offset(size - 1).limit(1)
    if after is not None:
        query = query.where(rule_facts.c.customer_id > after)
    return (await session.execute(query)).scalar_one_or_none()


def _in_chunk(after: uuid.UUID | None, upto: uuid.UUID | None) -> list[sa.ColumnElement[bool]]:
    bounds: list[sa.ColumnElement[bool]] = []
    if after is not None:
        bounds.append(rule_facts.c.customer_id > after)
    if upto is not None:
        bounds.append(rule_facts.c.customer_id <= upto)
    return bounds


class Swept(NamedTuple):
    applied: int
    removed: int


def _announced(tenant_id: uuid.UUID | str, rule_id: uuid.UUID, *parts: sa.Select[Any]) -> sa.Select[int, int]:
    """The sweep's changes announced as `announce_many` does, in the same statement: each part
    selects (step, verb, customer_id, tag_id, tag_name) from a data-modifying CTE; every change
    draws the next change_seq in (step, customer) order, gets a history row and a
    `tag.applied` / `tag.removed` event (payload as TagApplied / TagRemoved in proto JSON).
    The statement returns (applied, removed)."""
    changed = sa.union_all(*parts).subquery("changed")
    ordered = sa.select(changed).order_by(changed.c.step, changed.c.customer_id).subquery("ordered")
    changes = sa.select(ordered, tag_change_seq.next_value().label("seq")).cte("changes")
    history = sa.insert(tag_history).from_select(
        ["customer_id", "tag_id", "action", "source", "rule_id", "actor"],
        sa.select(changes.c.customer_id, changes.c.tag_id, changes.c.verb, sa.literal(SOURCE_RULE),
                  sa.literal(rule_id, pg.UUID(as_uuid=True)), sa.literal("")).order_by(changes.c.seq),
    ).returning(tag_history.c.id).cte("history")
    data = sa.func.jsonb_build_object(
        "customer_id", sa.cast(changes.c.customer_id, sa.Text), "tag_id", sa.cast(changes.c.tag_id, sa.Text),
        "tag_name", changes.c.tag_name, "source", SOURCE_RULE, "actor", "",
        "change_seq", sa.cast(changes.c.seq, sa.Text),
    ).op("||")(sa.case((changes.c.verb == "applied",
                        sa.func.jsonb_build_object("rule_id", str(rule_id))),
                       else_=sa.text("'{}'::jsonb")))
    events = outbox.events_from_select(
        sa.select(changes.c.verb, data.label("data"), sa.cast(changes.c.customer_id, sa.Text).label("subject_id"),
                  changes.c.seq.label("position")),
        source=TAGGING_SOURCE, tenant_id=tenant_id, aggregate="tag",
    ).returning(outbox_table.c.seq).cte("announced")
    return (sa.select(sa.func.count().filter(changes.c.verb == "applied"),
                      sa.func.count().filter(changes.c.verb == "removed"))
            .select_from(changes).add_cte(history, events))


async def sweep_apply(session: AsyncSession, tenant_id: uuid.UUID | str, *, rule_id: uuid.UUID, tag_id: uuid.UUID,
                      tag_name: str, group: str, condition: sa.ColumnElement[bool], limit: int, trigger: str,
                      after: uuid.UUID | None, upto: uuid.UUID | None) -> Swept:
    """Set-based, for the customers of one chunk, in one statement (no row comes to Python): puts
    the tag on every customer matching the condition who lacks it and has room under the limit (tags
    of the tag's exclusive group do not count: they are replaced), takes the group's other tags off
    those customers, and announces every change (`_announced`)."""
    other = sa.alias(customer_tags, "other")
    other_tag = sa.alias(tags, "other_tag")
    occupied = (sa.select(sa.func.count()).select_from(other.join(other_tag, other_tag.c.id == other.c.tag_id))
                .where(other.c.customer_id == rule_facts.c.customer_id))
    if group:
        occupied = occupied.where(other_tag.c.exclusive_group != group)
    carrying = sa.exists().where(other.c.customer_id == rule_facts.c.customer_id, other.c.tag_id == tag_id)
    candidates = sa.select(
        rule_facts.c.customer_id, sa.literal(tag_id, pg.UUID(as_uuid=True)), sa.literal(SOURCE_RULE),
        sa.literal(rule_id, pg.UUID(as_uuid=True)), sa.literal(trigger),
    ).where(~rule_facts.c.deleted, condition, ~carrying, occupied.scalar_subquery() < limit,
            *_in_chunk(after, upto))
    inserted = (pg.insert(customer_tags)
                .from_select(["customer_id", "tag_id", "source", "rule_id", "trigger"], candidates)
                .on_conflict_do_nothing(index_elements=[customer_tags.c.customer_id, customer_tags.c.tag_id])
                .returning(customer_tags.c.customer_id).cte("inserted"))
    parts = [sa.select(sa.literal(1).label("step"), sa.literal("applied").label("verb"), inserted.c.customer_id,
                       sa.literal(tag_id, pg.UUID(as_uuid=True)).label("tag_id"),
                       sa.literal(tag_name).label("tag_name"))]
    if group:
        rivals = (sa.delete(customer_tags)
                  .where(customer_tags.c.tag_id.in_(sa.select(tags.c.id).where(tags.c.exclusive_group == group,
                                                                                tags.c.id != tag_id)),
                         customer_tags.c.customer_id.in_(sa.select(inserted.c.customer_id)))
                  .returning(customer_tags.c.customer_id, customer_tags.c.tag_id).cte("rivals"))
        parts.insert(0, sa.select(sa.literal(0).label("step"), sa.literal("removed").label("verb"),
                                  rivals.c.customer_id, rivals.c.tag_id, tags.c.name.label("tag_name"))
                     .join_from(rivals, tags, tags.c.id == rivals.c.tag_id))
    row = (await session.execute(_announced(tenant_id, rule_id, *parts))).one()
    outbox.mark_written(session)
    return Swept(int(row[0]), int(row[1]))


async def sweep_remove(session: AsyncSession, tenant_id: uuid.UUID | str, *, rule_id: uuid.UUID, tag_id: uuid.UUID,
                       tag_name: str, condition: sa.ColumnElement[bool], after: uuid.UUID | None,
                       upto: uuid.UUID | None) -> Swept:
    """Takes the tag off every customer of one chunk matching the condition, announcing each
    removal, in one statement."""
    matching = sa.select(rule_facts.c.customer_id).where(~rule_facts.c.deleted, condition, *_in_chunk(after, upto))
    removed = (sa.delete(customer_tags)
               .where(customer_tags.c.tag_id == tag_id, customer_tags.c.customer_id.in_(matching))
               .returning(customer_tags.c.customer_id).cte("removed"))
    part = sa.select(sa.literal(0).label("step"), sa.literal("removed").label("verb"), removed.c.customer_id,
                     sa.literal(tag_id, pg.UUID(as_uuid=True)).label("tag_id"), sa.literal(tag_name).label("tag_name"))
    row = (await session.execute(_announced(tenant_id, rule_id, part))).one()
    outbox.mark_written(session)
    return Swept(int(row[0]), int(row[1]))


async def customer_count(session: AsyncSession) -> int:
    return int((await session.execute(sa.select(sa.func.count()).select_from(rule_facts))).scalar_one())


async def sweep_progress_of(session: AsyncSession, job_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(sweep_progress).where(sweep_progress.c.job_id == job_id))).first()


async def save_sweep_progress(session: AsyncSession, job_id: uuid.UUID, *, after: uuid.UUID, done: int,
                              applied: int, removed: int) -> None:
    values = {"after_customer": after, "done": done, "applied": applied, "removed": removed}
    statement = pg.insert(sweep_progress).values(job_id=job_id, **values)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[sweep_progress.c.job_id], set_={**values, "updated_at": sa.func.now()}))


async def forget_sweep_progress(session: AsyncSession, job_id: uuid.UUID) -> None:
    await session.execute(sa.delete(sweep_progress).where(sweep_progress.c.job_id == job_id))
