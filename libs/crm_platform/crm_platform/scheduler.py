"""The platform scheduler: schedules are rows in `control.schedules`, never timers in a process.

A service's domain code calls `schedule(session, tenant, kind, key, at=... | rrule=...)` in its own
transaction, so a schedule exists exactly when the business change that wanted it committed; the
owner upserts and cancels by (tenant, kind, key). Each service process runs one `Scheduler` (wired by
`crm_platform/runtime.py` from `ServiceDefinition.schedules`) which:

- claims due rows in batches with `SELECT ... FOR UPDATE SKIP LOCKED` and keeps them locked in that
  one transaction while their handlers run. The row lock is the lease: a second replica skips the
  rows, and if this process dies the transaction rolls back and the rows are due again. Nothing
  about a schedule lives in memory, so restarts lose nothing.
- runs the handler of each (tenant, kind) group inside that transaction, on a session bound to the
  tenant's schema, so what the handler writes (its rows, outbox events, mail, jobs) commits in the
  same commit that advances or deletes the schedule: an occurrence fires exactly once. If a handler
  fails, the batch is rolled back and run again with a savepoint per group, and a failing group's
  firings one by one, so one bad row holds back nobody (and the common case pays no savepoints).
- lets handlers hand shared-table writes to the end of the batch (`defer`): a handler of many
  tenants' firings writes its outbox events or next schedules (`control` tables, not the tenant's)
  once per batch for every group, not once per tenant group, in the same transaction.
- moves a one-shot schedule out (deleted) after it fired, and a recurring one to its next RFC 5545
  occurrence computed in the row's IANA time zone (wall-clock times, DST-correct). Occurrences
  missed while nothing ran (downtime, a suspended tenant) fire once, then the schedule continues
  from the next occurrence after now.
- retries a failed firing on `retry_schedule`; after the last retry a one-shot is `dead` and a
  recurring schedule gives that occurrence up and carries on with the next one. Both stay visible
  through `failed()` and the error is kept on the row.

Handlers must be short (database writes): anything slow (calling out, rendering a report) is a job
the handler enqueues (`crm_platform/jobs.py`) in the same transaction. Lag (now - occurrence when
fired) and failures are logged and counted as OpenTelemetry metrics (`crm.scheduler.*`); `backlog()`
answers "how late are we now". See docs/platform.md#scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr
from opentelemetry import metrics
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from crm_platform import telemetry
from crm_platform.db import TENANT, json_rows, json_rows_param, signal_commit
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id, tenant_schema
from crm_platform.tables import schedules, tenants

log = logging.getLogger(__name__)

DEFAULT_RETRY_SCHEDULE: Final = (
    timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
)
# Recurring schedules fire at most once a minute: a rule that would fire more often is refused.
MIN_INTERVAL: Final = timedelta(minutes=1)
MAX_KEY: Final = 200
# Lag above this is logged as a warning (at most once per this interval).
LAG_WARNING: Final = timedelta(seconds=30)


@dataclass(frozen=True)
class Firing:
    """One occurrence of a schedule being fired."""

    schedule_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    key: str
    payload: dict[str, Any]
    # The occurrence (for a retry still the original occurrence, not the retry's time).
    occurrence_at: datetime
    # 1 on the first try of this occurrence.
    attempt: int
    recurring: bool


# Called with the due firings of one tenant and kind (oldest first), on a session bound to that
# tenant inside the scheduler's transaction; raising fails them (they are retried one by one).
ScheduleHandler = Callable[[AsyncSession, Sequence[Firing]], Awaitable[None]]

# Writes many items in one go (`defer`): e.g. `outbox.insert_events`, `schedule_rows`, a mailer's
# `insert_queued`. Items from several tenants: it must write only shared (`control`) tables.
BatchWriter = Callable[[AsyncSession, list[Any]], Awaitable[None]]

# session.info key of the writes a handler's group deferred (present only while the scheduler
# collects them for the end of its batch).
_DEFERRED: Final = "crm.scheduler.deferred"


async def defer(session: AsyncSession, writer: BatchWriter, items: Sequence[Any]) -> None:
    """`await writer(session, items)`, or, inside a scheduler's batch, once at the end of the batch.

    In a handler the scheduler runs its groups straight in one transaction (the common case), this
    only collects the items; after every group of the batch ran, the scheduler calls each writer
    once with the items of all groups, in order, on a session in the same transaction (before the
    fired schedules are deleted or advanced): 100 tenant groups cost one INSERT, not 100. If a
    writer fails, the batch is rolled back and run again carefully, and then, as anywhere outside a
    batch (an RPC, a test calling the handler), the writer runs at once with this group's items, in
    the group's savepoint. Writers are told apart by equality (a function, or the bound method of
    one object)."""
    if not items:
        return
    pending: dict[BatchWriter, list[Any]] | None = session.info.get(_DEFERRED)
    if pending is None:
        await writer(session, list(items))
    else:
        pending.setdefault(writer, []).extend(items)


# -- recurrence rules -----------------------------------------------------------------------------

def zone(name: str, field: str = "time_zone") -> ZoneInfo:
    """The IANA zone, or `invalid_time_zone` on `field`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput([FieldError(field, "invalid_time_zone", "an IANA time zone such as Asia/Shanghai")]) \
            from None


def _rule_text(text: str) -> str:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:"):]
    return body


@functools.lru_cache(maxsize=4096)
def _rule(text: str, dtstart: datetime, zone_name: str) -> RRule:
    """The parsed rule, anchored at `dtstart`'s wall-clock time in the zone (RFC 5545 DTSTART with
    TZID): occurrences keep that local time across DST changes."""
    local_start = dtstart.astimezone(ZoneInfo(zone_name))
    parsed = rrulestr(_rule_text(text), dtstart=local_start)
    assert isinstance(parsed, RRule)
    return parsed


def parse_rrule(text: str, dtstart: datetime, zone_name: str, field: str = "rrule") -> RRule:
    """Checks an RRULE (one rule, no DTSTART inside: the start and zone are separate arguments)."""
    body = _rule_text(text)
    upper = body.upper()
    if not body or "\n" in body or "DTSTART" in upper or "RRULE:" in upper or "EXDATE" in upper:
        raise InvalidInput([FieldError(field, "invalid_rrule", "one RFC 5545 RRULE such as FREQ=DAILY;BYHOUR=9")])
    if re.search(r"(^|;)FREQ=SECONDLY", upper):
        raise InvalidInput([FieldError(field, "rrule_too_frequent", "a schedule fires at most once a minute")])
    try:
        return _rule(text, dtstart, zone_name)
    except (ValueError, TypeError, KeyError, AssertionError) as exc:
        raise InvalidInput([FieldError(field, "invalid_rrule", f"not a valid RFC 5545 RRULE: {exc}")]) from None


def next_occurrence(rule_text: str, dtstart: datetime, zone_name: str, after: datetime,
                    inclusive: bool = False) -> datetime | None:
    """The first occurrence after `after` (at or after, if inclusive), in UTC; None when the rule
    has ended (COUNT / UNTIL)."""
    local_after = after.astimezone(ZoneInfo(zone_name))
    found = _rule(rule_text, dtstart, zone_name).after(local_after, inc=inclusive)
    return found.astimezone(UTC) if found is not None else None


def _check_frequency(rule_text: str, dtstart: datetime, zone_name: str, now: datetime, field: str) -> datetime:
    """The first occurrence at or after now; refuses rules with no occurrence left or firing more
    often than MIN_INTERVAL."""
    upcoming: list[datetime] = []
    cursor, inclusive = now, True
    for _ in range(4):
        found = next_occurrence(rule_text, dtstart, zone_name, cursor, inclusive)
        if found is None:
            break
        upcoming.append(found)
        cursor, inclusive = found, False
    if not upcoming:
        raise InvalidInput([FieldError(field, "rrule_has_no_occurrence", "the rule has no occurrence after now")])
    if any(later - earlier < MIN_INTERVAL for earlier, later in itertools.pairwise(upcoming)):
        raise InvalidInput([FieldError(field, "rrule_too_frequent", "a schedule fires at most once a minute")])
    return upcoming[0]


def check_rrule(rule_text: str, time_zone: str, *, dtstart: datetime | None = None,
                field: str = "rrule", zone_field: str = "time_zone") -> datetime:
    """Checks a recurring rule the way `schedule` does, before a caller stores it (e.g. a rule row
    that schedules later): `invalid_rrule`, `rrule_too_frequent`, `rrule_has_no_occurrence` on
    `field`, `invalid_time_zone` on `zone_field`. Returns the first occurrence (UTC)."""
    zone(time_zone, zone_field)
    now = datetime.now(UTC)
    start = (dtstart or now).astimezone(UTC).replace(microsecond=0)
    parse_rrule(rule_text, start, time_zone, field)
    return _check_frequency(rule_text, start, time_zone, now, field)


# -- the owner's API (in the caller's transaction) --------------------------------------------------

async def schedule(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: str,
    key: str,
    *,
    at: datetime | None = None,
    rrule: str | None = None,
    dtstart: datetime | None = None,
    time_zone: str = "UTC",
    payload: dict[str, Any] | None = None,
) -> datetime:
    """Creates or replaces the schedule (tenant, kind, key) in the caller's transaction; returns
    its first occurrence (UTC).

    One-shot: `at` (timezone-aware; a time in the past fires at once). Recurring: `rrule` (RFC 5545,
    e.g. "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0") evaluated in `time_zone` from `dtstart`
    (default now), whose wall-clock time fills what the rule leaves open. Replacing a schedule resets
    its attempts and error."""
    if not kind or not key or len(key) > MAX_KEY:
        raise ValueError(f"a schedule needs a kind and a key of 1..{MAX_KEY} characters")
    if (at is None) == (rrule is None):
        raise ValueError("give either `at` (one-shot) or `rrule` (recurring)")
    zone(time_zone)
    now = datetime.now(UTC)
    if at is not None:
        if at.tzinfo is None:
            raise InvalidInput([FieldError("at", "naive_datetime", "a time with its UTC offset")])
        first = at.astimezone(UTC)
        start: datetime | None = None
    else:
        assert rrule is not None
        if dtstart is None:
            start = now.replace(microsecond=0)
        elif dtstart.tzinfo is None:  # a wall-clock time in the schedule's zone
            start = dtstart.replace(tzinfo=ZoneInfo(time_zone)).astimezone(UTC)
        else:
            start = dtstart.astimezone(UTC)
        parse_rrule(rrule, start, time_zone)
        first = _check_frequency(rrule, start, time_zone, now, "rrule")
    values = {
        "payload": payload or {}, "due_at": first, "occurrence_at": first, "rrule": rrule, "dtstart": start,
        "time_zone": time_zone, "status": "active", "attempts": 0, "last_error": None, "last_error_at": None,
    }
    statement = pg_insert(schedules).values(id=new_id(), tenant_id=tenant_id, kind=kind, key=key, fired_count=0,
                                            **values)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["tenant_id", "kind", "key"], set_={**values, "updated_at": sa.func.now()},
    ))
    return first


@dataclass(frozen=True)
class OneShot:
    """A one-shot schedule for `schedule_rows`: `schedule(session, tenant_id, kind, key, at=at,
    payload=payload)` as a value."""

    tenant_id: uuid.UUID
    kind: str
    key: str
    at: datetime
    payload: dict[str, Any]


_ONE_SHOT_COLUMNS: Final = (("id", pg.UUID(as_uuid=True)), ("tenant_id", pg.UUID(as_uuid=True)), ("kind", sa.Text),
                            ("key", sa.Text), ("payload", pg.JSONB), ("at", sa.DateTime(timezone=True)))


@functools.cache
def _one_shot_upsert() -> sa.Insert:
    """INSERT ... SELECT FROM jsonb_to_recordset(:rows) ON CONFLICT (tenant, kind, key) DO UPDATE: one
    statement text whatever the number of rows (crm_platform/db.py `json_rows`)."""
    rows = json_rows("one_shot", _ONE_SHOT_COLUMNS)
    statement = pg_insert(schedules).from_select(
        ["id", "tenant_id", "kind", "key", "payload", "due_at", "occurrence_at", "rrule", "dtstart", "time_zone",
         "status", "attempts", "last_error", "last_error_at", "fired_count"],
        sa.select(rows.c.id, rows.c.tenant_id, rows.c.kind, rows.c.key, rows.c.payload,
                  rows.c.at, rows.c.at, sa.null(), sa.null(), sa.literal("UTC"), sa.literal("active"), sa.literal(0),
                  sa.null(), sa.null(), sa.literal(0))
        .order_by(rows.c.ordinality))
    replaced = ("payload", "due_at", "occurrence_at", "rrule", "dtstart", "time_zone", "status", "attempts",
                "last_error", "last_error_at")
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "kind", "key"],
        set_={**{name: statement.excluded[name] for name in replaced}, "updated_at": sa.func.now()},
    )


async def schedule_rows(session: AsyncSession, items: list[OneShot]) -> None:
    """`schedule(at=...)` for many one-shots, of any tenants and kinds, in one statement (a handler
    scheduling a follow-up of each of its 3,000 firings pays one round trip, not 3,000; as a
    `defer` writer, one per batch). A (tenant, kind, key) given twice: the last one counts."""
    if not items:
        return
    latest: dict[tuple[uuid.UUID, str, str], dict[str, Any]] = {}
    for item in items:
        if not item.kind or not item.key or len(item.key) > MAX_KEY:
            raise ValueError(f"a schedule needs a kind and a key of 1..{MAX_KEY} characters")
        if item.at.tzinfo is None:
            raise InvalidInput([FieldError("at", "naive_datetime", "a time with its UTC offset")])
        latest.pop((item.tenant_id, item.kind, item.key), None)  # keeps the order of the last one
        latest[(item.tenant_id, item.kind, item.key)] = {
            "id": new_id(), "tenant_id": item.tenant_id, "kind": item.kind, "key": item.key,
            "payload": item.payload, "at": item.at.astimezone(UTC)}
    await session.execute(_one_shot_upsert(), json_rows_param("one_shot", list(latest.values())))


async def schedule_many(session: AsyncSession, tenant_id: uuid.UUID, kind: str,
                        items: Sequence[tuple[str, datetime, dict[str, Any]]]) -> None:
    """`schedule_rows` for one tenant and kind: (key, at, payload) each."""
    await schedule_rows(session, [OneShot(tenant_id, kind, key, at, payload) for key, at, payload in items])


async def cancel(session: AsyncSession, tenant_id: uuid.UUID, kind: str, key: str) -> bool:
    """Removes the schedule in the caller's transaction; False if there was none. A firing already
    under way (its row locked) finishes first: this waits for it."""
    result = await session.execute(sa.delete(schedules).where(
        schedules.c.tenant_id == tenant_id, schedules.c.kind == kind, schedules.c.key == key,
    ).returning(schedules.c.id))
    return result.first() is not None


async def get(session: AsyncSession, tenant_id: uuid.UUID, kind: str, key: str) -> sa.Row[Any] | None:
    """The schedule's row (next `occurrence_at`, `status`, `attempts`, `last_error`, ...), or None."""
    return (await session.execute(sa.select(schedules).where(
        schedules.c.tenant_id == tenant_id, schedules.c.kind == kind, schedules.c.key == key,
    ))).first()


# -- observing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backlog:
    """Schedules due and not yet fired, and how late the oldest of them is."""

    overdue: int
    oldest_occurrence_at: datetime | None
    lag_seconds: float


async def backlog(session: AsyncSession, kinds: Sequence[str] | None = None) -> Backlog:
    """"Lag now": due, active, first-attempt schedules that have not fired yet (retries waiting
    for their time are not lag; `failed()` lists them)."""
    s = schedules.c
    query = sa.select(sa.func.count(), sa.func.min(s.occurrence_at), sa.func.now()).where(
        s.status == "active", s.due_at <= sa.func.now(), s.attempts == 0)
    if kinds:
        query = query.where(s.kind.in_(list(kinds)))
    count, oldest, now = (await session.execute(query)).one()
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return Backlog(int(count), oldest, lag)


async def failed(
    session: AsyncSession, *, tenant_id: uuid.UUID | None = None, kind: str | None = None, limit: int = 100
) -> list[sa.Row[Any]]:
    """Failed schedules, most recent failure first: dead one-shots, schedules waiting for a retry,
    and recurring schedules whose last occurrence was given up (until one fires again)."""
    s = schedules.c
    query = sa.select(schedules).where(sa.or_(
        s.status == "dead",
        s.attempts > 0,
        sa.and_(s.last_error_at.is_not(None), sa.or_(s.last_fired_at.is_(None), s.last_error_at > s.last_fired_at)),
    ))
    if tenant_id is not None:
        query = query.where(s.tenant_id == tenant_id)
    if kind is not None:
        query = query.where(s.kind == kind)
    return list((await session.execute(query.order_by(s.last_error_at.desc().nulls_last()).limit(limit))).all())


class SchedulerMetrics:
    """OpenTelemetry instruments (exported by whatever reader telemetry.setup installed)."""

    def __init__(self, meter: metrics.Meter | None = None):
        meter = meter or metrics.get_meter("crm_platform.scheduler")
        self.lag = meter.create_histogram(
            "crm.scheduler.lag", unit="s", description="now - occurrence when a schedule fires (first attempts)")
        self.fired = meter.create_counter("crm.scheduler.fired", description="occurrences fired")
        self.failed = meter.create_counter("crm.scheduler.failed", description="failed attempts")
        self.given_up = meter.create_counter(
            "crm.scheduler.given_up", description="occurrences given up after the last retry (one-shots go dead)")


# -- the worker -----------------------------------------------------------------------------------

class _HandlerFailed(Exception):
    """A handler failed in an optimistic batch: the batch is rolled back and run carefully."""


@dataclass
class _Claimed:
    row: sa.Row[Any]
    firing: Firing


class Scheduler:
    """Fires due schedules of the kinds in `handlers`. `concurrency` batches run at once (each its
    own transaction and connection); `retry_schedule[n]` is the wait after attempt n+1."""

    def __init__(
        self,
        engine: AsyncEngine,
        handlers: dict[str, ScheduleHandler],
        *,
        retry_schedule: Sequence[timedelta] = DEFAULT_RETRY_SCHEDULE,
        # An upper bound: a claim takes what is due, up to this. Larger batches make larger
        # per-tenant groups when behind (fewer handler calls per firing; tests/bench/bench_scheduler.py).
        batch_size: int = 3000,
        concurrency: int = 2,
        poll_seconds: float = 0.5,
        meter: metrics.Meter | None = None,
        name: str = "",
    ):
        self.engine = engine
        self.handlers = handlers
        self.retry_schedule = list(retry_schedule)
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.metrics = SchedulerMetrics(meter)
        self.name = name
        self._stopping = False
        self._wake = asyncio.Event()
        self._lag_warned_at = 0.0

    # -- one batch ------------------------------------------------------------------------------
    async def _claim(self, conn: AsyncConnection) -> tuple[list[_Claimed], datetime, datetime]:
        s = schedules.c
        suspended = sa.select(tenants.c.tenant_id).where(
            tenants.c.tenant_id == s.tenant_id, tenants.c.suspended_at.is_not(None))
        rows = (await conn.execute(
            sa.select(schedules, sa.func.now().label("db_now"), sa.func.clock_timestamp().label("clock"))
            .where(s.status == "active", s.due_at <= sa.func.now(), s.kind.in_(list(self.handlers)),
                   ~sa.exists(suspended))
            # Tenant second: a burst due at one instant comes out in few tenant groups per batch.
            .order_by(s.due_at, s.tenant_id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True, of=schedules)
        )).all()
        if not rows:
            return [], datetime.now(UTC), datetime.now(UTC)
        claimed = [
            _Claimed(r, Firing(r.id, r.tenant_id, r.kind, r.key, dict(r.payload), r.occurrence_at, r.attempts + 1,
                               r.rrule is not None))
            for r in rows
        ]
        return claimed, rows[0].db_now, rows[0].clock

    async def _fire(self, conn: AsyncConnection, tenant_id: uuid.UUID, kind: str, group: list[_Claimed],
                    info: dict[str, Any], deferred: dict[BatchWriter, list[Any]] | None, *,
                    savepoint: bool) -> Exception | None:
        """Runs the handler on a session bound to the tenant, inside a savepoint when asked (else an
        error leaves the whole batch to be rolled back); returns the error, if any. With `deferred`
        (not in a savepoint) the group's `defer`red writes are added to it when the handler succeeds."""
        await conn.execution_options(schema_translate_map={TENANT: tenant_schema(tenant_id)})
        session = AsyncSession(bind=conn, expire_on_commit=False,
                               join_transaction_mode="create_savepoint" if savepoint else "rollback_only")
        collected: dict[BatchWriter, list[Any]] = {}
        if deferred is not None:
            session.info[_DEFERRED] = collected
        token = telemetry.tenant_var.set(str(tenant_id))
        try:
            async with session.begin():
                await self.handlers[kind](session, [c.firing for c in group])
            session.info.pop(_DEFERRED, None)
            info.update(session.info)
            if deferred is not None:
                for writer, items in collected.items():
                    deferred.setdefault(writer, []).extend(items)
            return None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return exc
        finally:
            telemetry.tenant_var.reset(token)
            await session.close()

    async def _write_deferred(self, conn: AsyncConnection, deferred: dict[BatchWriter, list[Any]],
                              info: dict[str, Any]) -> None:
        """Each writer once with what every group of the batch left for it (`defer`)."""
        if not deferred:
            return
        await conn.execution_options(schema_translate_map=None)
        session = AsyncSession(bind=conn, expire_on_commit=False, join_transaction_mode="rollback_only")
        try:
            async with session.begin():
                for writer, items in deferred.items():
                    await writer(session, items)
            info.update(session.info)
        finally:
            await session.close()

    async def _finish(self, conn: AsyncConnection, done: list[_Claimed], now: datetime) -> None:
        """Fired: one-shots (and rules that ended) are deleted, recurring ones move to the next
        occurrence after both now and the one fired (missed occurrences fire once)."""
        s = schedules.c
        gone: list[uuid.UUID] = []
        advanced: list[dict[str, Any]] = []
        for item in done:
            row = item.row
            following = None
            if row.rrule is not None:
                following = next_occurrence(row.rrule, row.dtstart, row.time_zone, max(now, row.occurrence_at))
            if following is None:
                gone.append(row.id)
            else:
                advanced.append({"b_id": row.id, "b_next": following})
        if gone:  # = ANY(array): one statement text for any number (an IN list of 3,000 is re-parsed each time)
            await conn.execute(sa.delete(schedules).where(
                s.id == sa.any_(sa.bindparam("gone", gone, type_=pg.ARRAY(pg.UUID(as_uuid=True))))))
        if advanced:
            await conn.execute(
                sa.update(schedules).where(s.id == sa.bindparam("b_id")).values(
                    due_at=sa.bindparam("b_next"), occurrence_at=sa.bindparam("b_next"), attempts=0,
                    last_fired_at=now, fired_count=s.fired_count + 1, updated_at=now),
                advanced,
            )

    def retry_delay(self, attempt: int) -> timedelta | None:
        index = attempt - 1
        return self.retry_schedule[index] if index < len(self.retry_schedule) else None

    async def _record_failures(self, conn: AsyncConnection, failures: list[tuple[_Claimed, Exception]],
                               now: datetime) -> None:
        s = schedules.c
        for item, error in failures:
            row, firing = item.row, item.firing
            message = f"{type(error).__name__}: {error}"[:2000]
            delay = self.retry_delay(firing.attempt)
            values: dict[str, Any] = {"last_error": message, "last_error_at": now, "updated_at": now}
            outcome = "retry"
            if delay is not None:
                values |= {"due_at": now + delay, "attempts": firing.attempt}
            elif row.rrule is None:
                values |= {"status": "dead", "attempts": firing.attempt}
                outcome = "dead"
            else:  # the occurrence is given up; the schedule carries on
                following = next_occurrence(row.rrule, row.dtstart, row.time_zone, max(now, row.occurrence_at))
                if following is None:
                    values |= {"status": "dead", "attempts": firing.attempt}
                    outcome = "dead"
                else:
                    values |= {"due_at": following, "occurrence_at": following, "attempts": 0}
                    outcome = "skipped"
            await conn.execute(sa.update(schedules).where(s.id == row.id).values(**values))
            self.metrics.failed.add(1, {"kind": firing.kind})
            if outcome != "retry":
                self.metrics.given_up.add(1, {"kind": firing.kind})
            log.log(
                logging.WARNING if outcome == "retry" else logging.ERROR,
                "schedule failed",
                extra=telemetry.log_fields(
                    schedule_id=str(firing.schedule_id), tenant_id=str(firing.tenant_id), kind=firing.kind,
                    key=firing.key, attempt=firing.attempt, outcome=outcome, error=message,
                    retry_at=values["due_at"].isoformat() if "due_at" in values else None),
            )

    async def run_batch(self) -> int:
        """Claims and fires one batch in one transaction; returns how many schedules it took.

        First optimistically, every group straight in the transaction (the fewest round trips);
        if any handler fails, that transaction is rolled back and the batch runs again carefully:
        each group in a savepoint, and a failed group's firings each in their own."""
        try:
            return await self._batch(careful=False)
        except _HandlerFailed:
            return await self._batch(careful=True)

    async def _batch(self, *, careful: bool) -> int:
        info: dict[str, Any] = {}
        # Careful: each group writes its deferred items itself, in its savepoint.
        deferred: dict[BatchWriter, list[Any]] | None = None if careful else {}
        async with self.engine.connect() as conn, conn.begin():
            claimed, now, clock = await self._claim(conn)
            if not claimed:
                return 0
            groups: dict[tuple[uuid.UUID, str], list[_Claimed]] = {}
            for item in claimed:
                groups.setdefault((item.firing.tenant_id, item.firing.kind), []).append(item)
            done: list[_Claimed] = []
            failures: list[tuple[_Claimed, Exception]] = []
            for (tenant_id, kind), group in groups.items():
                error = await self._fire(conn, tenant_id, kind, group, info, deferred, savepoint=careful)
                if error is None:
                    done += group
                elif not careful:
                    raise _HandlerFailed from error
                elif len(group) == 1:
                    failures.append((group[0], error))
                else:  # find the firings that fail on their own; the rest go through
                    for item in group:
                        alone = await self._fire(conn, tenant_id, kind, [item], info, None, savepoint=True)
                        if alone is None:
                            done.append(item)
                        else:
                            failures.append((item, alone))
            if deferred:
                try:
                    await self._write_deferred(conn, deferred, info)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    raise _HandlerFailed from error
            await self._finish(conn, done, now)
            await self._record_failures(conn, failures, now)
        signal_commit(info)
        self._observe(done, clock)
        return len(claimed)

    def _observe(self, done: list[_Claimed], clock: datetime) -> None:
        worst = 0.0
        per_kind: dict[str, int] = {}
        for item in done:
            per_kind[item.firing.kind] = per_kind.get(item.firing.kind, 0) + 1
            if item.firing.attempt == 1:
                lag = max((clock - item.firing.occurrence_at).total_seconds(), 0.0)
                worst = max(worst, lag)
                self.metrics.lag.record(lag, {"kind": item.firing.kind})
        for kind, count in per_kind.items():
            self.metrics.fired.add(count, {"kind": kind})
        log.debug("schedules fired", extra=telemetry.log_fields(count=len(done), max_lag_s=round(worst, 3)))
        loop_time = asyncio.get_running_loop().time()
        if worst > LAG_WARNING.total_seconds() and loop_time - self._lag_warned_at > LAG_WARNING.total_seconds():
            self._lag_warned_at = loop_time
            log.warning("scheduler is behind", extra=telemetry.log_fields(lag_s=round(worst, 1), fired=len(done)))

    # -- the loop -----------------------------------------------------------------------------------
    async def _loop(self) -> None:
        while not self._stopping:
            try:
                taken = await self.run_batch()
            except asyncio.CancelledError:
                raise
            except Exception:  # Postgres restarting: nothing was committed, the rows are due again
                log.exception("scheduler batch failed")
                taken = 0
            if taken >= self.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def run(self) -> None:
        if not self.handlers:
            return
        await asyncio.gather(*(self._loop() for _ in range(self.concurrency)))

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
