"""Both analytics backends against a real chDB engine: what goes in comes out unchanged, values
never become SQL, and a query only ever sees its own tenant's rows."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crm_reporting.analytics import Analytics, AnalyticsError, TenantQuery
from crm_reporting.analytics.backend import BOUNDED_SETTINGS, decode_compact
from crm_reporting.event_log.tables import EVENTS

NASTY_TEXT = [
    "plain",
    "it's",
    'say "hi"',
    "back\\slash and \\n (escaped-looking)",
    "new\nline\ttab\r\nreturn",
    "'); DROP TABLE events; --",
    "{event_type:String}",
    "\\N",
    "零售 / 金融 😀",
    "",
]


def event_row(tenant: uuid.UUID, event_id: str, *, type: str = "crm.test.happened", data: str = "{}") -> dict:
    return {
        "tenant_id": tenant,
        "event_id": event_id,
        "type": type,
        "source": "tests",
        "subject": "",
        "time": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "data": data,
    }


def events_of(tenant: uuid.UUID) -> TenantQuery:
    return TenantQuery(EVENTS, tenant, final=True).select("event_id", "type", "data", "time").order_by("event_id")


async def test_rows_round_trip_unchanged(analytics: Analytics, tenant: uuid.UUID) -> None:
    rows = [event_row(tenant, f"e{i}", data=json.dumps({"text": text})) for i, text in enumerate(NASTY_TEXT)]
    rows.append(event_row(tenant, "e-nasty-id-'\n\\", type="crm.odd'type\n"))

    await analytics.insert(EVENTS, rows)

    stored = await analytics.query(events_of(tenant))
    assert sorted((r["event_id"], r["type"], r["data"]) for r in stored) == sorted(
        (r["event_id"], r["type"], r["data"]) for r in rows
    )
    assert {r["time"] for r in stored} == {"2026-01-02 03:04:05.678901"}


@pytest.mark.parametrize("text", NASTY_TEXT)
async def test_bound_values_match_exactly(analytics: Analytics, tenant: uuid.UUID, text: str) -> None:
    await analytics.insert(EVENTS, [event_row(tenant, "match", type=text), event_row(tenant, "other", type="x")])

    query = events_of(tenant).where("type = {wanted:String}", wanted=text)
    rows = await analytics.query(query)

    assert [r["event_id"] for r in rows] == (["match"] if text != "x" else ["match", "other"])


async def test_a_query_sees_only_its_tenant(analytics: Analytics, tenant: uuid.UUID, other_tenant: uuid.UUID) -> None:
    await analytics.insert(EVENTS, [event_row(tenant, "mine"), event_row(other_tenant, "theirs")])

    assert [r["event_id"] for r in await analytics.query(events_of(tenant))] == ["mine"]
    assert [r["event_id"] for r in await analytics.query(events_of(other_tenant))] == ["theirs"]
    # A condition that tries to widen the filter is ANDed with it, so it can only narrow.
    widened = events_of(tenant).where("tenant_id = {other:UUID} OR 1 = 1", other=other_tenant)
    assert [r["event_id"] for r in await analytics.query(widened)] == ["mine"]


async def test_a_repeated_row_is_counted_once(analytics: Analytics, tenant: uuid.UUID) -> None:
    row = event_row(tenant, "redelivered")
    await analytics.insert(EVENTS, [row])
    await analytics.insert(EVENTS, [row])

    counted = await analytics.query(TenantQuery(EVENTS, tenant, final=True).select("count() AS n"))

    assert counted == [{"n": 1}]


async def test_raw_sql_cannot_be_queried(analytics: Analytics) -> None:
    with pytest.raises(TypeError):
        await analytics.query("SELECT * FROM events")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await analytics.command("SELECT * FROM events")


async def test_rows_without_a_tenant_or_with_unknown_columns_are_refused(
    analytics: Analytics, tenant: uuid.UUID
) -> None:
    with pytest.raises(ValueError, match="tenant_id"):
        await analytics.insert(EVENTS, [{**event_row(tenant, "x"), "tenant_id": str(tenant)}])
    with pytest.raises(ValueError, match="no columns"):
        await analytics.insert(EVENTS, [{**event_row(tenant, "x"), "evnt_type": "typo"}])
    with pytest.raises(ValueError, match="naive"):
        await analytics.insert(EVENTS, [{**event_row(tenant, "x"), "time": datetime(2026, 1, 1)}])


async def test_engine_errors_surface_as_analytics_errors(analytics: Analytics, tenant: uuid.UUID) -> None:
    with pytest.raises(AnalyticsError):
        await analytics.query(TenantQuery(EVENTS, tenant).select("no_such_column"))


async def test_a_stream_gives_the_query_rows_in_order_across_blocks(analytics: Analytics, tenant: uuid.UUID,
                                                                    other_tenant: uuid.UUID) -> None:
    """`stream` (an export's rows) yields exactly what `query` returns, in order, over many of the
    engine's blocks (its blocks are 8,192 rows), with nasty text intact and only its tenant's rows;
    while it is open the session keeps serving other queries, and leaving it early cancels it."""
    rows = [event_row(tenant, f"e{i:05d}", data=json.dumps({"text": NASTY_TEXT[i % len(NASTY_TEXT)]}))
            for i in range(20_000)]
    await analytics.insert(EVENTS, rows)
    await analytics.insert(EVENTS, [event_row(other_tenant, "theirs")])
    query = events_of(tenant)
    expected = [[r["event_id"], r["type"], r["data"], r["time"]] for r in await analytics.query(query)]

    def read(stop: int | None = None) -> list[list[object]]:
        found = []
        for row in analytics.stream(query):
            found.append(row)
            if len(found) == stop:
                break
        return found

    streamed = await asyncio.to_thread(read)
    assert len(streamed) == 20_000 and streamed == expected
    # Other queries while a stream is open (the service keeps serving during an export).
    stream = analytics.stream(query)
    first = await asyncio.to_thread(next, stream)
    assert len(await analytics.query(query)) == 20_000
    rest = await asyncio.to_thread(list, stream)
    assert [first, *rest] == expected
    assert await asyncio.to_thread(read, 10) == expected[:10]  # closed early: cancelled
    assert len(await asyncio.to_thread(read)) == 20_000
    with pytest.raises(AnalyticsError):
        await asyncio.to_thread(list, analytics.stream(TenantQuery(EVENTS, tenant).select("no_such_column")))


async def test_a_bounded_query_runs_under_the_bounded_settings_and_only_it(analytics: Analytics,
                                                                          tenant: uuid.UUID) -> None:
    """`query(..., bounded=True)` (an export's pivot) runs under `BOUNDED_SETTINGS` (a sorting join,
    one thread, small blocks, spills), the same rows; the session's other queries keep the engine's
    defaults."""
    await analytics.insert(EVENTS, [event_row(tenant, "e1")])

    def settings_of() -> TenantQuery:
        names = {f"setting_{i}": name for i, name in enumerate(BOUNDED_SETTINGS)}
        return TenantQuery(EVENTS, tenant, final=True).select(
            "event_id", *(f"toString(getSetting({{{key}:String}})) AS {key}" for key in names), **names)

    [bounded] = await analytics.query(settings_of(), bounded=True)
    expected = [str(value) for value in BOUNDED_SETTINGS.values()]
    assert [bounded[f"setting_{i}"] for i in range(len(BOUNDED_SETTINGS))] == expected
    [plain] = await analytics.query(settings_of())
    assert plain["event_id"] == bounded["event_id"] == "e1"
    assert plain["setting_3"] != "1" or plain["setting_4"] != "8192"  # max_threads / max_block_size: the defaults
    assert await analytics.query(events_of(tenant), bounded=True) == await analytics.query(events_of(tenant))


def test_compact_rows_split_across_chunks_are_joined() -> None:
    text = b'["a",1,null]\n["b\\n",2.5,"\\u96f6"]\n'
    for cut in range(len(text) + 1):
        assert list(decode_compact([text[:cut], text[cut:]])) == [["a", 1, None], ["b\n", 2.5, "零"]]


RESTART_SCRIPT = """
import asyncio, sys, uuid
from datetime import UTC, datetime
from pathlib import Path
from crm_reporting.analytics import TenantQuery
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.event_log.tables import EVENTS
from crm_reporting.main import ANALYTICS_TABLES

async def main(path, tenant, step):
    analytics = await ChdbAnalytics.open(Path(path))
    if step == "write":
        await ensure_schema(analytics, ANALYTICS_TABLES)
        await analytics.insert(EVENTS, [{"tenant_id": tenant, "event_id": "durable", "type": "t", "source": "s",
                                         "subject": "", "time": datetime.now(UTC), "data": "{}"}])
    else:
        rows = await analytics.query(TenantQuery(EVENTS, tenant).select("event_id"))
        print(",".join(r["event_id"] for r in rows))
    await analytics.close()

asyncio.run(main(sys.argv[1], uuid.UUID(sys.argv[2]), sys.argv[3]))
"""


def test_chdb_data_survives_a_process_restart(tmp_path: Path, tenant: uuid.UUID) -> None:
    # Separate processes: chDB allows one data path per process, and a restart is the point.
    def run(step: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", RESTART_SCRIPT, str(tmp_path / "chdb"), str(tenant), step],
            capture_output=True, text=True, timeout=120, check=True,
        )
        return done.stdout.strip()

    run("write")
    assert run("read") == "durable"
