"""Report exports as jobs over real Postgres (jobs, the export rows and parts, the outbox) and chDB:
the job runs the report again as the requester (their data scope), stores the file in parts that
read back as the format asked for, reports progress, emits the audit event; only the requester sees
the export, in their tenant; refusals carry stable codes on the field at fault."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import jobs
from crm_platform.auth import Principal
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import Conflict, InvalidInput, NotFound
from crm_platform.tables import outbox
from crm_reporting.analytics import TenantQuery
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.reports.exports import JOB_KIND, SUCCEEDED, ExportRunner, report_exports_service
from crm_reporting.reports.service import saved_report_service
from tests.reporting.dashboards.test_panels import REP_A, REP_B, World
from tests.reporting.reports.test_report_engine import who, world  # noqa: F401 - the fixture

DEFINITION = {"object": "customers", "rows": [{"field": "industry"}], "column": {"field": "status"},
              "measures": [{"agg": "count"}], "chart": "bar"}


async def _report(engine: AsyncEngine, owner: Principal) -> str:
    async with tenant_session(engine, owner.tenant_id) as session:
        saved = await saved_report_service.create(session, owner, name="按行业", description="",
                                                  definition=DEFINITION, visibility="private", team_id="")
    return str(saved.id)


async def _export(engine: AsyncEngine, analytics: ChdbAnalytics, caller: Principal, report_id: str,
                  fmt: str) -> tuple[bytes, str]:
    async with tenant_session(engine, caller.tenant_id) as session:
        row = await report_exports_service.create(session, caller, report_id, fmt, locale="zh-CN",
                                                  time_zone="Asia/Shanghai")
    export_id = str(row.id)
    async with tenant_session(engine, caller.tenant_id) as session:
        with pytest.raises(Conflict) as not_ready:
            await report_exports_service.read_part(session, caller, export_id, 0)
    assert not_ready.value.code == "export_not_ready"
    claimed = [j for j in await jobs.claim(engine, [JOB_KIND], 10, timedelta(minutes=1))
               if j.payload["export_id"] == export_id]
    assert len(claimed) == 1
    assert (await ExportRunner(engine, analytics)(claimed[0]))["status"] == SUCCEEDED
    await jobs.complete(engine, claimed[0].id)
    data = b""
    async with tenant_session(engine, caller.tenant_id) as session:
        seq, last = 0, False
        while not last:
            part, finished, last = await report_exports_service.read_part(session, caller, export_id, seq)
            data += part
            seq += 1
        assert finished.status == SUCCEEDED and finished.size_bytes == len(data)
    return data, export_id


async def test_an_export_runs_the_report_as_the_requester_and_reads_back(
    engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World,  # noqa: F811
) -> None:
    everyone = who(world.tenant)
    report_id = await _report(engine, everyone)
    data, export_id = await _export(engine, chdb_analytics, everyone, report_id, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames[:3] == ["按行业", "数据", "数据透视表"]
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert b'refreshOnLoad="1"' in package.read("xl/pivotCache/pivotCacheDefinition1.xml")
    async with control_session(engine) as session:
        events = (await session.execute(sa.select(outbox.c.subject, outbox.c.payload)
                                        .where(outbox.c.tenant_id == world.tenant))).all()
    exported = [e for e in events if e.subject.endswith(".report.exported")]
    assert len(exported) == 1
    assert exported[0].payload["data"]["export_id"] == export_id
    assert exported[0].payload["data"]["format"] == "xlsx"

    csv_data, _ = await _export(engine, chdb_analytics, everyone, report_id, "csv")
    rows = list(csv.reader(io.StringIO(csv_data.decode("utf-8-sig"))))
    assert rows[-1][0] == "总计" and rows[-1][-1] == "3"  # c1, c2, c3 (c4 is deleted)

    pdf, _ = await _export(engine, chdb_analytics, everyone, report_id, "pdf")
    assert pdf.startswith(b"%PDF")


async def test_an_export_obeys_the_requesters_data_scope(
    engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World,  # noqa: F811
) -> None:
    rep_a = who(world.tenant, scope="own", user=REP_A)
    data, _ = await _export(engine, chdb_analytics, rep_a, await _report(engine, rep_a), "csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    everyone_total = 3
    assert rows[-1][0] == "总计" and 0 < int(rows[-1][-1]) < everyone_total


class _RecordingAnalytics:
    """The analytics store, recording each query's SQL and whether it ran bounded."""

    def __init__(self, inner: ChdbAnalytics):
        self.inner, self.queries = inner, list[tuple[str, bool]]()

    async def query(self, builder: TenantQuery, *, bounded: bool = False) -> list[dict[str, Any]]:
        self.queries.append((builder.build().sql, bounded))
        return await self.inner.query(builder, bounded=bounded)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_an_exports_pivot_runs_bounded_with_the_same_result(
    engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World,  # noqa: F811
) -> None:
    """The report an export runs again (its report sheet, the pivot CSV, the PDF) reads the same
    per-customer joins as the rows; its queries run under the engine's bounded-memory settings
    (docs/benchmarks.md, "Export memory"), the file unchanged."""
    everyone = who(world.tenant)
    report_id = await _report(engine, everyone)
    recording = _RecordingAnalytics(chdb_analytics)
    data, _ = await _export(engine, recording, everyone, report_id, "csv")  # type: ignore[arg-type]
    pivots = [bounded for sql, bounded in recording.queries if "GROUPING SETS" in sql]
    assert pivots and all(pivots)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[-1][0] == "总计" and rows[-1][-1] == "3"


async def test_only_the_requester_in_their_tenant_sees_an_export(
    engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World,  # noqa: F811
    provision_tenant: Callable[[], uuid.UUID],
) -> None:
    rep_a, rep_b = who(world.tenant, user=REP_A), who(world.tenant, user=REP_B)
    report_id = await _report(engine, rep_a)
    _, export_id = await _export(engine, chdb_analytics, rep_a, report_id, "csv")
    async with tenant_session(engine, world.tenant) as session:
        with pytest.raises(NotFound):  # another rep: not their export
            await report_exports_service.get(session, rep_b, export_id)
        with pytest.raises(NotFound):  # nor may they export a private report they cannot see
            await report_exports_service.create(session, rep_b, report_id, "csv")
    stranger_tenant = provision_tenant()
    stranger = Principal(subject="u", tenant_id=stranger_tenant, user_id=uuid.UUID(REP_A), client_id="web",
                         scopes=frozenset({"reports:read"}), data_scope="all")
    async with tenant_session(engine, stranger_tenant) as session:
        with pytest.raises(NotFound):  # the same user id in another tenant
            await report_exports_service.get(session, stranger, export_id)
        with pytest.raises(NotFound):
            await report_exports_service.read_part(session, stranger, export_id, 0)


async def test_refusals_name_the_field(engine: AsyncEngine, world: World) -> None:  # noqa: F811
    caller = who(world.tenant)
    report_id = await _report(engine, caller)
    async with tenant_session(engine, world.tenant) as session:
        with pytest.raises(InvalidInput) as bad:
            await report_exports_service.create(session, caller, report_id, "docx")
        assert [(e.field, e.code) for e in bad.value.errors] == [("format", "invalid_choice")]
        with pytest.raises(NotFound):
            await report_exports_service.create(session, caller, "not-a-uuid", "csv")
        with pytest.raises(NotFound):
            await report_exports_service.get(session, caller, "not-a-uuid")
