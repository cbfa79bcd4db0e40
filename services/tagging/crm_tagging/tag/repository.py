"""Every SQL statement about tags and the tags applied to customers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.errors import Conflict
from crm_tagging.autotag.tables import tag_rules
from crm_tagging.tag.tables import customer_tags, tag_change_seq, tag_history, tagging_settings, tags

# The unique index on lower(name) created by migration tg0001.
NAME_INDEX = "uq_tags_name_lower"


def _violated_constraint(error: IntegrityError) -> str | None:
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


async def insert_tag(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    try:
        # A savepoint, so a taken name leaves the caller's transaction usable.
        async with session.begin_nested():
            return (await session.execute(sa.insert(tags).values(**values).returning(tags))).one()
    except IntegrityError as exc:
        if _violated_constraint(exc) == NAME_INDEX:
            raise Conflict("a tag with this name exists", code="tag_name_taken",
                           extra={"field": "name"}) from None
        raise


# Which customers a count may include: the caller's data scope compiled into SQL over
# customer_tags.customer_id (CustomerAccess.condition); None counts every customer (the system).
Visible = Callable[[sa.ColumnElement[Any]], sa.ColumnElement[bool]] | None


def _customer_count(visible: Visible) -> sa.ScalarSelect[Any]:
    query = sa.select(sa.func.count()).select_from(customer_tags).where(customer_tags.c.tag_id == tags.c.id)
    if visible is not None:
        query = query.where(visible(customer_tags.c.customer_id))
    return query.scalar_subquery()


def _tags_with_counts(visible: Visible = None) -> sa.Select[Any]:
    """Tags with `customer_count`: customers carrying each now that the caller may see (index
    ix_customer_tags_tag_id)."""
    return sa.select(tags, _customer_count(visible).label("customer_count"))


async def get_tag(session: AsyncSession, tag_id: uuid.UUID, visible: Visible = None) -> sa.Row[Any] | None:
    return (await session.execute(_tags_with_counts(visible).where(tags.c.id == tag_id))).first()


async def lock_tag(session: AsyncSession, tag_id: uuid.UUID) -> sa.Row[Any] | None:
    """The tag row, locked until the transaction ends (edits, merges and deletes of one tag queue)."""
    return (await session.execute(sa.select(tags).where(tags.c.id == tag_id).with_for_update())).first()


async def list_tags_page(session: AsyncSession, *, limit: int, after: tuple[datetime, uuid.UUID] | None,
                         category_id: uuid.UUID | None = None, uncategorised: bool = False,
                         archived: bool | None = None, visible: Visible = None) -> list[sa.Row[Any]]:
    """Oldest first, keyed on (created_at, id) so pages stay stable while tags are added."""
    query = _tags_with_counts(visible).order_by(tags.c.created_at, tags.c.id).limit(limit)
    if after is not None:
        query = query.where(sa.tuple_(tags.c.created_at, tags.c.id) > sa.tuple_(*after))
    if category_id is not None:
        query = query.where(tags.c.category_id == category_id)
    if uncategorised:
        query = query.where(tags.c.category_id.is_(None))
    if archived is not None:
        query = query.where(tags.c.archived_at.isnot(None) if archived else tags.c.archived_at.is_(None))
    return list((await session.execute(query)).all())


async def tags_with_ids(session: AsyncSession, tag_ids: list[uuid.UUID],
                        visible: Visible = None) -> list[sa.Row[Any]]:
    query = _tags_with_counts(visible).where(tags.c.id.in_(tag_ids)).order_by(tags.c.created_at, tags.c.id)
    return list((await session.execute(query)).all())


async def update_tag(session: AsyncSession, tag_id: uuid.UUID, values: dict[str, Any]) -> None:
    try:
        async with session.begin_nested():
            await session.execute(sa.update(tags).where(tags.c.id == tag_id).values(
                **values, version=tags.c.version + 1, updated_at=sa.func.now()))
    except IntegrityError as exc:
        if _violated_constraint(exc) == NAME_INDEX:
            raise Conflict("a tag with this name exists", code="tag_name_taken",
                           extra={"field": "name"}) from None
        raise


async def delete_tag(session: AsyncSession, tag_id: uuid.UUID) -> None:
    await session.execute(sa.delete(tags).where(tags.c.id == tag_id))


async def customers_carrying(session: AsyncSession, tag_id: uuid.UUID) -> list[sa.Row[Any]]:
    """Every customer_tags row of the tag, locked (a delete or merge announces each)."""
    return list((await session.execute(
        sa.select(customer_tags).where(customer_tags.c.tag_id == tag_id)
        .order_by(customer_tags.c.customer_id).with_for_update()
    )).all())


async def take_tag_off_everyone(session: AsyncSession, tag_id: uuid.UUID) -> None:
    await session.execute(sa.delete(customer_tags).where(customer_tags.c.tag_id == tag_id))


async def move_tag(session: AsyncSession, source_id: uuid.UUID, target_id: uuid.UUID,
                   customer_ids: list[uuid.UUID]) -> None:
    """Re-points the source tag's rows of these customers (who do not carry the target) to it."""
    if customer_ids:
        await session.execute(sa.update(customer_tags).where(
            customer_tags.c.tag_id == source_id, customer_tags.c.customer_id.in_(customer_ids)
        ).values(tag_id=target_id))


async def carriers_among(session: AsyncSession, tag_id: uuid.UUID, customer_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    if not customer_ids:
        return set()
    rows = await session.execute(sa.select(customer_tags.c.customer_id).where(
        customer_tags.c.tag_id == tag_id, customer_tags.c.customer_id.in_(customer_ids)))
    return {row.customer_id for row in rows}


async def lock_customer(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Serialises tag changes of one customer until the transaction ends, so two concurrent
    applies cannot both pass the per-customer limit or an exclusive group."""
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(
        sa.func.hashtextextended(sa.literal(f"tagging:customer:{customer_id}"), 0))))


async def customer_tag_count(session: AsyncSession, customer_id: uuid.UUID) -> int:
    return int((await session.execute(
        sa.select(sa.func.count()).select_from(customer_tags).where(customer_tags.c.customer_id == customer_id)
    )).scalar_one())


async def customer_tags_in_group(session: AsyncSession, customer_id: uuid.UUID, group: str,
                                 except_tag: uuid.UUID) -> list[sa.Row[Any]]:
    """The customer's tags (with names) of this exclusive group, other than `except_tag`."""
    query = _with_tag().where(customer_tags.c.customer_id == customer_id, tags.c.exclusive_group == group,
                              tags.c.id != except_tag)
    return list((await session.execute(query)).all())


async def get_settings(session: AsyncSession) -> sa.Row[Any]:
    return (await session.execute(sa.select(tagging_settings).where(tagging_settings.c.id == 1))).one()


async def update_settings(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(
        sa.update(tagging_settings).where(tagging_settings.c.id == 1)
        .values(**values, version=tagging_settings.c.version + 1, updated_at=sa.func.now())
        .returning(tagging_settings)
    )).one()


async def record_history(session: AsyncSession, *, customer_id: uuid.UUID, tag_id: uuid.UUID, action: str,
                         source: str, rule_id: uuid.UUID | None, actor: str) -> None:
    await session.execute(sa.insert(tag_history).values(
        customer_id=customer_id, tag_id=tag_id, action=action, source=source, rule_id=rule_id, actor=actor))


async def insert_customer_tag_if_absent(session: AsyncSession, *, customer_id: uuid.UUID, tag_id: uuid.UUID,
                                        source: str, rule_id: uuid.UUID | None, applied_by: str = "",
                                        trigger: str = "") -> bool:
    """True if the tag was newly applied; False if the customer already carried it."""
    inserted = await session.execute(
        pg_insert(customer_tags)
        .values(customer_id=customer_id, tag_id=tag_id, source=source, rule_id=rule_id, applied_by=applied_by,
                trigger=trigger)
        .on_conflict_do_nothing(index_elements=[customer_tags.c.customer_id, customer_tags.c.tag_id])
        .returning(customer_tags.c.tag_id)
    )
    return inserted.first() is not None


def _with_tag() -> sa.Select[Any]:
    """customer_tags rows with their tag's name and colour (`tag_name`, `tag_color`) and the name
    of the rule that applied it, if it still exists (`rule_name`)."""
    return (
        sa.select(customer_tags, tags.c.name.label("tag_name"), tags.c.color.label("tag_color"),
                  sa.func.coalesce(tag_rules.c.name, "").label("rule_name"))
        .join(tags, tags.c.id == customer_tags.c.tag_id)
        .outerjoin(tag_rules, tag_rules.c.id == customer_tags.c.rule_id)
    )


async def list_customer_tags(session: AsyncSession, customer_id: uuid.UUID) -> list[sa.Row[Any]]:
    query = _with_tag().where(customer_tags.c.customer_id == customer_id).order_by(
        customer_tags.c.applied_at, tags.c.name
    )
    return list((await session.execute(query)).all())


async def get_customer_tag(session: AsyncSession, customer_id: uuid.UUID, tag_id: uuid.UUID) -> sa.Row[Any] | None:
    query = _with_tag().where(customer_tags.c.customer_id == customer_id, customer_tags.c.tag_id == tag_id)
    return (await session.execute(query)).first()


async def delete_customer_tag(session: AsyncSession, customer_id: uuid.UUID, tag_id: uuid.UUID) -> bool:
    """True if the customer carried the tag (and no longer does)."""
    deleted = await session.execute(
        sa.delete(customer_tags)
        .where(customer_tags.c.customer_id == customer_id, customer_tags.c.tag_id == tag_id)
        .returning(customer_tags.c.tag_id)
    )
    return deleted.first() is not None


async def next_change_seq(session: AsyncSession) -> int:
    return int((await session.execute(sa.select(tag_change_seq.next_value()))).scalar_one())


async def next_change_seqs(session: AsyncSession, count: int) -> list[int]:
    """`count` numbers from tag_change_seq, increasing."""
    rows = await session.execute(sa.select(tag_change_seq.next_value()).select_from(
        sa.func.generate_series(1, count).alias("n")))
    return sorted(int(v) for v in rows.scalars())


async def record_history_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(sa.insert(tag_history), rows)


async def usage_history(session: AsyncSession, visible: Visible, days: int = 90) -> dict[uuid.UUID, sa.Row[Any]]:
    """Per tag over the last `days` days: applied, removed, applied by hand / by rule, and the last
    application ever, counting only customers the caller may see."""
    since = sa.func.now() - sa.func.make_interval(0, 0, 0, days)
    recent = tag_history.c.at >= since
    applied = tag_history.c.action == "applied"
    query = sa.select(
        tag_history.c.tag_id,
        sa.func.count().filter(recent, applied).label("applied"),
        sa.func.count().filter(recent, tag_history.c.action == "removed").label("removed"),
        sa.func.count().filter(recent, applied, tag_history.c.source == "manual").label("by_hand"),
        sa.func.count().filter(recent, applied, tag_history.c.source == "rule").label("by_rule"),
        sa.func.max(tag_history.c.at).filter(applied).label("last_applied"),
    ).group_by(tag_history.c.tag_id)
    if visible is not None:
        query = query.where(visible(tag_history.c.customer_id))
    return {row.tag_id: row for row in await session.execute(query)}


async def overlaps(session: AsyncSession, visible: Visible, minimum: float, min_customers: int = 5
                   ) -> list[sa.Row[Any]]:
    """Tag pairs whose shared customers are at least `minimum` of the smaller tag's."""
    a, b = sa.alias(customer_tags, "a"), sa.alias(customer_tags, "b")
    sizes = sa.select(customer_tags.c.tag_id, sa.func.count().label("n")).group_by(customer_tags.c.tag_id)
    if visible is not None:
        sizes = sizes.where(visible(customer_tags.c.customer_id))
    sized = sizes.subquery()
    pairs = (sa.select(a.c.tag_id.label("tag_id"), b.c.tag_id.label("other_tag_id"), sa.func.count().label("both"))
             .join(b, sa.and_(b.c.customer_id == a.c.customer_id, b.c.tag_id > a.c.tag_id)))
    if visible is not None:
        pairs = pairs.where(visible(a.c.customer_id))
    pair = pairs.group_by(a.c.tag_id, b.c.tag_id).subquery()
    sa_, sb = sa.alias(sized, "sa"), sa.alias(sized, "sb")
    smaller = sa.func.least(sa_.c.n, sb.c.n)
    query = (sa.select(pair.c.tag_id, pair.c.other_tag_id, pair.c.both,
                       (sa.cast(pair.c.both, sa.Float) / smaller).label("ratio"))
             .join(sa_, sa_.c.tag_id == pair.c.tag_id).join(sb, sb.c.tag_id == pair.c.other_tag_id)
             .where(smaller >= min_customers, sa.cast(pair.c.both, sa.Float) >= smaller * minimum)
             .order_by(sa.desc("ratio")).limit(100))
    return list((await session.execute(query)).all())
