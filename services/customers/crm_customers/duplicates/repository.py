"""Every SQL statement of duplicate detection: match keys, candidates, scans, groups, dismissals."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import customer_settings, customers
from crm_customers.duplicates.tables import (
    dismissals,
    duplicate_groups,
    duplicate_scans,
    group_members,
    match_keys,
    name_deletions,
    scan_pairs,
)

INSERT_BATCH: Final = 2000
LOOKUP_BATCH: Final = 10_000
# Columns the checks compare (keys are computed from these, see keys.keys_of).
KEY_COLUMNS: Final = ("name", "mobile", "phone", "email", "credit_code", "resident_id_bidx", "bank_card_bidx",
                       "contact_person")
_c = customers.c


# -- policy ------------------------------------------------------------------------------------

async def policy(session: AsyncSession) -> str:
    value = (await session.execute(
        sa.select(customer_settings.c.duplicate_policy).where(customer_settings.c.id == 1)
    )).scalar_one()
    return str(value)


# -- match keys --------------------------------------------------------------------------------

async def replace_keys(
    session: AsyncSession, customer_id: uuid.UUID, keys: Iterable[tuple[str, str]], *, replace: bool = True
) -> None:
    """One statement: the new keys added (those already there are kept) and, when `replace`, the
    old ones not among them deleted. Both halves see the same snapshot, so neither undoes the other.
    The `name_del` keys go into the customer's one `customer_name_deletions` row (migration c0252),
    written in the same statement."""
    statements = key_writes(customer_id, keys, replace=replace)
    if not statements:
        return
    *others, main = statements
    await session.execute(main.add_cte(*(other.cte(f"key_write_{n}") for n, other in enumerate(others))))


def key_writes(customer_id: uuid.UUID, keys: Iterable[tuple[str, str]], *, replace: bool) -> list[Any]:
    """The statements of `replace_keys`, for a caller that sends them as CTEs of its own write (a
    create: customer/repository.py `insert`)."""
    keys = list(keys)
    pairs = sorted({(k, v) for k, v in keys if k != "name_del"})
    deleted = sorted({v for k, v in keys if k == "name_del"})
    statements: list[Any] = []
    if pairs:
        statements.append(pg.insert(match_keys).values(
            [{"customer_id": customer_id, "kind": k, "value": v} for k, v in pairs]).on_conflict_do_nothing())
    if deleted:
        upsert = pg.insert(name_deletions).values(customer_id=customer_id, deletions=deleted)
        statements.append(upsert.on_conflict_do_update(
            index_elements=[name_deletions.c.customer_id], set_={"deletions": upsert.excluded.deletions},
            where=name_deletions.c.deletions.is_distinct_from(upsert.excluded.deletions)))
    if replace:
        if not deleted:
            statements.append(sa.delete(name_deletions).where(name_deletions.c.customer_id == customer_id))
        stale = sa.delete(match_keys).where(match_keys.c.customer_id == customer_id)
        if pairs:
            stale = stale.where(sa.tuple_(match_keys.c.kind, match_keys.c.value).not_in(pairs))
        statements.append(stale)
    return statements


async def lock_keys(session: AsyncSession, tenant_id: uuid.UUID, values: list[str]) -> None:
    """Transaction-scoped advisory locks on this tenant's match keys (advisory locks are
    database-wide, hence the tenant in the key), in one order: no deadlock between two writers
    taking overlapping keys."""
    for value in sorted(set(values)):
        await session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"customers:duplicate-key:{tenant_id}:{value}"},
        )


# The checks' lookups have one shape whatever the keys (arrays bound as parameters): compiled once
# per process and prepared by psycopg, instead of a new statement to compile and plan on every
# write (a VALUES list, an OR per key, an IN list: docs/benchmarks.md, "API hot paths").
_TEXTS: Final = pg.ARRAY(sa.Text)


def _pairs(name: str) -> Any:
    """`unnest(:<name>_kinds, :<name>_values) AS <name>(kind, value)`: (kind, value) pairs bound as two arrays."""
    return (sa.func.unnest(sa.bindparam(f"{name}_kinds", type_=_TEXTS), sa.bindparam(f"{name}_values", type_=_TEXTS))
            .table_valued("kind", "value").render_derived(name=name))


def _not_excluded(column: Any, exclude: bool) -> list[sa.ColumnElement[bool]]:
    return [column != sa.bindparam("exclude", type_=pg.UUID(as_uuid=True))] if exclude else []


@functools.cache
def _holder_counts(exclude: bool) -> sa.Select[Any]:
    wanted = _pairs("wanted")
    holders = (
        sa.select(sa.literal(1))
        .select_from(match_keys.join(customers, customers.c.id == match_keys.c.customer_id))
        .where(match_keys.c.kind == wanted.c.kind, match_keys.c.value == wanted.c.value, _c.deleted_at.is_(None),
               *_not_excluded(match_keys.c.customer_id, exclude))
        .correlate(wanted)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    counted = sa.select(sa.func.count()).select_from(holders.subquery()).scalar_subquery()
    return sa.select(wanted.c.kind, wanted.c.value, counted)


async def holder_counts(
    session: AsyncSession, keys: Sequence[tuple[str, str]], exclude: uuid.UUID | None, limit: int
) -> dict[tuple[str, str], int]:
    """How many live customers (other than `exclude`) hold each key, counted up to `limit` (a hub
    with a hundred thousand holders costs no more than one with `limit`)."""
    if not keys:
        return {}
    rows = (await session.execute(_holder_counts(exclude is not None), {
        "wanted_kinds": [k for k, _ in keys], "wanted_values": [v for _, v in keys], "limit": limit,
        "exclude": exclude,
    })).all()
    return {(r[0], r[1]): int(r[2]) for r in rows}


@functools.cache
def _matching_keys(exact: bool, probes: bool, exclude: bool) -> sa.Select[Any]:
    live = _c.deleted_at.is_(None)
    arms: list[sa.Select[Any]] = []
    if exact:
        wanted = _pairs("exact")
        arms.append(
            sa.select(match_keys.c.customer_id, match_keys.c.kind, match_keys.c.value)
            .join(wanted, sa.and_(match_keys.c.kind == wanted.c.kind, match_keys.c.value == wanted.c.value))
            .join(customers, customers.c.id == match_keys.c.customer_id)
            .where(live, *_not_excluded(match_keys.c.customer_id, exclude)))
    if probes:
        probed = sa.bindparam("probes", type_=_TEXTS)
        arms.append(
            sa.select(match_keys.c.customer_id, match_keys.c.kind, match_keys.c.value)
            .join(customers, customers.c.id == match_keys.c.customer_id)
            .where(match_keys.c.kind == "name", match_keys.c.value == sa.any_(probed), live,
                   *_not_excluded(match_keys.c.customer_id, exclude)))
        # Names whose neighbourhood holds a probe: `&&` on the GIN index (migration c0252).
        arms.append(
            sa.select(name_deletions.c.customer_id, sa.literal("name_del").label("kind"), sa.literal("").label("value"))
            .join(customers, customers.c.id == name_deletions.c.customer_id)
            .where(name_deletions.c.deletions.overlap(probed), live,
                   *_not_excluded(name_deletions.c.customer_id, exclude)))
    query: Any = arms[0]
    for arm in arms[1:]:  # (mypy 2.4 crashes on union_all(*arms))
        query = sa.union_all(query, arm)
    return sa.select(query.subquery()).limit(2000)


async def matching_keys(
    session: AsyncSession, exact: Sequence[tuple[str, str]], probes: Sequence[str], exclude: uuid.UUID | None
) -> list[Any]:
    """(customer_id, kind, value) of live customers sharing an exact key, or whose `name` /
    `name_del` keys equal one of the probes (names one edit away). A customer may come once per
    key it matched on."""
    if not exact and not probes:
        return []
    statement = _matching_keys(bool(exact), bool(probes), exclude is not None)
    return list((await session.execute(statement, {
        "exact_kinds": [k for k, _ in exact], "exact_values": [v for _, v in exact], "probes": sorted(probes),
        "exclude": exclude,
    })).all())


async def customer_rows(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[sa.Row[Any]]:
    if not ids:
        return []
    return list((await session.execute(sa.select(customers).where(_c.id.in_(list(ids))))).all())


async def get_live(
    session: AsyncSession, customer_id: uuid.UUID, scope: sa.ColumnElement[bool] | None
) -> sa.Row[Any] | None:
    """A live (not deleted, not merged) customer in the caller's data scope."""
    query = sa.select(customers).where(_c.id == customer_id, _c.deleted_at.is_(None))
    if scope is not None:
        query = query.where(scope)
    return (await session.execute(query)).first()


async def visible_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID], scope: sa.ColumnElement[bool] | None
) -> set[uuid.UUID]:
    if not ids:
        return set()
    query = sa.select(_c.id).where(_c.id.in_(list(ids)))
    if scope is not None:
        query = query.where(scope)
    return set((await session.execute(query)).scalars())


# -- scans -------------------------------------------------------------------------------------

async def insert_scan(session: AsyncSession, scan_id: uuid.UUID, requested_by: str) -> sa.Row[Any]:
    return (await session.execute(
        sa.insert(duplicate_scans).values(
            id=scan_id, status="queued", phase="", processed=0, total=0, pairs_found=0, groups_found=0, error="",
            requested_by=requested_by,
        ).returning(duplicate_scans)
    )).one()


async def get_scan(session: AsyncSession, scan_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(duplicate_scans).where(duplicate_scans.c.id == scan_id))).first()


async def recent_scans(session: AsyncSession, limit: int) -> list[sa.Row[Any]]:
    query = sa.select(duplicate_scans).order_by(duplicate_scans.c.created_at.desc(), duplicate_scans.c.id.desc())
    return list((await session.execute(query.limit(limit))).all())


async def active_scan(session: AsyncSession) -> sa.Row[Any] | None:
    query = sa.select(duplicate_scans).where(duplicate_scans.c.status.in_(("queued", "running")))
    return (await session.execute(query.limit(1))).first()


async def update_scan(session: AsyncSession, scan_id: uuid.UUID, **values: Any) -> None:
    await session.execute(sa.update(duplicate_scans).where(duplicate_scans.c.id == scan_id).values(**values))


async def count_live(session: AsyncSession) -> int:
    return int((await session.execute(
        sa.select(sa.func.count()).select_from(customers).where(_c.deleted_at.is_(None))
    )).scalar_one())


async def exact_blocks(
    session: AsyncSession, kind: str, max_block: int, min_length: int = 0
) -> list[list[uuid.UUID]]:
    """Live customers sharing one value of `kind`, per value (blocks of 2..max_block); values
    shorter than `min_length` are skipped."""
    members = sa.func.array_agg(match_keys.c.customer_id)
    query = (
        sa.select(members)
        .join(customers, customers.c.id == match_keys.c.customer_id)
        .where(match_keys.c.kind == kind, _c.deleted_at.is_(None))
        .group_by(match_keys.c.value)
        .having(sa.func.count() > 1)
        .having(sa.func.count() <= max_block)
    )
    if min_length:
        query = query.where(sa.func.char_length(match_keys.c.value) >= min_length)
    return [list(row[0]) for row in (await session.execute(query)).all()]


async def stream_live(session: AsyncSession, batch: int) -> AsyncIterator[list[Any]]:
    """id, stored name key and the columns scoring.profile_of reads, of every live customer, in
    batches (server-side cursor)."""
    name = match_keys.alias("name_key")
    query = (
        sa.select(_c.id, name.c.value.label("name_key"), _c.type, _c.region, _c.contact_person, _c.email,
                  _c.credit_code, _c.resident_id_bidx, _c.bank_card_bidx)
        .outerjoin(name, sa.and_(name.c.customer_id == _c.id, name.c.kind == "name"))
        .where(_c.deleted_at.is_(None))
    )
    result = await session.stream(query.execution_options(yield_per=batch))
    async for part in result.partitions(batch):
        yield list(part)


async def exclusive_identities(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    """(credit code, resident ID blind index) of these customers, for those that have either."""
    found: dict[uuid.UUID, tuple[str, str]] = {}
    for start in range(0, len(ids), LOOKUP_BATCH):
        query = sa.select(_c.id, _c.credit_code, _c.resident_id_bidx).where(
            _c.id.in_(list(ids[start:start + LOOKUP_BATCH])),
            sa.or_(_c.credit_code != "", _c.resident_id_bidx.is_not(None)))
        for row in (await session.execute(query)).all():
            found[row.id] = ((row.credit_code or "").upper(), row.resident_id_bidx or "")
    return found


async def save_pairs(session: AsyncSession, scan_id: uuid.UUID, pairs: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(pairs), INSERT_BATCH):
        chunk = [{"scan_id": scan_id, **p} for p in pairs[start:start + INSERT_BATCH]]
        await session.execute(pg_insert(scan_pairs).on_conflict_do_nothing(), chunk)


async def load_pairs(session: AsyncSession, scan_id: uuid.UUID) -> list[Any]:
    query = sa.select(scan_pairs.c.a, scan_pairs.c.b, scan_pairs.c.confidence, scan_pairs.c.reasons)
    return list((await session.execute(query.where(scan_pairs.c.scan_id == scan_id))).all())


async def delete_pairs(session: AsyncSession, scan_id: uuid.UUID) -> None:
    await session.execute(sa.delete(scan_pairs).where(scan_pairs.c.scan_id == scan_id))


async def dismissed_pairs(session: AsyncSession) -> set[tuple[uuid.UUID, uuid.UUID]]:
    rows = (await session.execute(sa.select(dismissals.c.customer_a, dismissals.c.customer_b))).all()
    return {(r[0], r[1]) for r in rows}


# -- groups ------------------------------------------------------------------------------------

async def drop_open_groups(session: AsyncSession) -> None:
    """A new scan's groups replace the open ones (dismissed and merged ones stay as history)."""
    await session.execute(sa.delete(duplicate_groups).where(duplicate_groups.c.status == "open"))


async def insert_groups(session: AsyncSession, groups: Sequence[dict[str, Any]],
                        members: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(groups), INSERT_BATCH):
        await session.execute(sa.insert(duplicate_groups), list(groups[start:start + INSERT_BATCH]))
    for start in range(0, len(members), INSERT_BATCH):
        await session.execute(sa.insert(group_members), list(members[start:start + INSERT_BATCH]))


def _visible_member(scope: sa.ColumnElement[bool] | None) -> sa.Exists:
    query = (
        sa.select(group_members.c.customer_id)
        .join(customers, customers.c.id == group_members.c.customer_id)
        .where(group_members.c.group_id == duplicate_groups.c.id, _c.deleted_at.is_(None))
    )
    if scope is not None:
        query = query.where(scope)
    return query.exists()


async def list_groups(
    session: AsyncSession, *, status: str, scope: sa.ColumnElement[bool] | None, limit: int,
    after: tuple[float, uuid.UUID] | None,
) -> list[sa.Row[Any]]:
    """Groups with at least one live member the caller may see, highest confidence first."""
    g = duplicate_groups.c
    query = sa.select(duplicate_groups).where(g.status == status, _visible_member(scope))
    if status == "open":  # merged or deleted down to one live member: nothing left to review
        live = (
            sa.select(sa.func.count())
            .select_from(group_members.join(customers, customers.c.id == group_members.c.customer_id))
            .where(group_members.c.group_id == g.id, _c.deleted_at.is_(None))
            .scalar_subquery()
        )
        query = query.where(live >= 2)
    if after is not None:
        query = query.where(sa.tuple_(-g.confidence, g.id) > sa.tuple_(-after[0], after[1]))
    query = query.order_by(g.confidence.desc(), g.id).limit(limit)
    return list((await session.execute(query)).all())


async def get_group(
    session: AsyncSession, group_id: uuid.UUID, scope: sa.ColumnElement[bool] | None
) -> sa.Row[Any] | None:
    query = sa.select(duplicate_groups).where(duplicate_groups.c.id == group_id, _visible_member(scope))
    return (await session.execute(query)).first()


async def members_of(session: AsyncSession, group_ids: Sequence[uuid.UUID]) -> list[Any]:
    """(group_id, customer row) for every live member of these groups."""
    if not group_ids:
        return []
    query = (
        sa.select(group_members.c.group_id, customers)
        .join(customers, customers.c.id == group_members.c.customer_id)
        .where(group_members.c.group_id.in_(list(group_ids)), _c.deleted_at.is_(None))
        .order_by(group_members.c.group_id, _c.created_at, _c.id)
    )
    return list((await session.execute(query)).all())


async def member_ids(session: AsyncSession, group_id: uuid.UUID) -> list[uuid.UUID]:
    query = sa.select(group_members.c.customer_id).where(group_members.c.group_id == group_id)
    return list((await session.execute(query)).scalars())


async def set_group_status(session: AsyncSession, group_id: uuid.UUID, status: str, actor: str) -> sa.Row[Any]:
    return (await session.execute(
        sa.update(duplicate_groups).where(duplicate_groups.c.id == group_id)
        .values(status=status, resolved_by=actor, updated_at=sa.func.now()).returning(duplicate_groups)
    )).one()


async def add_dismissals(session: AsyncSession, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]], actor: str) -> None:
    rows = [{"customer_a": a, "customer_b": b, "dismissed_by": actor} for a, b in pairs]
    if rows:
        await session.execute(pg_insert(dismissals).on_conflict_do_nothing(), rows)


async def mark_merged(session: AsyncSession, customer_ids: Sequence[uuid.UUID], actor: str) -> None:
    """Open groups containing any of these customers become `merged` (for the merge work to call)."""
    touched = sa.select(group_members.c.group_id).where(group_members.c.customer_id.in_(list(customer_ids)))
    await session.execute(
        sa.update(duplicate_groups)
        .where(duplicate_groups.c.status == "open", duplicate_groups.c.id.in_(touched))
        .values(status="merged", resolved_by=actor, updated_at=sa.func.now())
    )


async def forget_customer(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Erasure: no trace of the customer stays in duplicate detection (its match keys go with the
    customers row, ON DELETE CASCADE)."""
    touched = list((await session.execute(
        sa.select(group_members.c.group_id).where(group_members.c.customer_id == customer_id)
    )).scalars())
    await session.execute(sa.delete(group_members).where(group_members.c.customer_id == customer_id))
    await session.execute(sa.delete(dismissals).where(
        sa.or_(dismissals.c.customer_a == customer_id, dismissals.c.customer_b == customer_id)))
    await session.execute(
        sa.delete(scan_pairs).where(sa.or_(scan_pairs.c.a == customer_id, scan_pairs.c.b == customer_id)))
    if touched:
        pair = sa.func.jsonb_array_elements(duplicate_groups.c.pairs).table_valued(
            sa.column("value", pg.JSONB)).alias("p")
        kept = (
            sa.select(sa.func.coalesce(sa.func.jsonb_agg(pair.c.value), sa.text("'[]'::jsonb")))
            .where(pair.c.value["a"].astext != str(customer_id), pair.c.value["b"].astext != str(customer_id))
            .scalar_subquery()
        )
        await session.execute(sa.update(duplicate_groups).where(duplicate_groups.c.id.in_(touched)).values(pairs=kept))
