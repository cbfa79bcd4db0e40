"""Customer exports in the service (docs/customers.md, "Export"): the job acts as the requester
(data scope, field policies, sensitive fields masked), CSV with BOM and XLSX, resuming after a
crash between pages, and the `crm.customer.exported` event for the audit log. Real Postgres, real
jobs table; the job is claimed and run as the JobWorker would."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.service import CustomerService
from crm_customers.exports.service import JOB_KIND, CustomerExports, ExportRunner
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_platform import jobs
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput, NotFound
from crm_platform.pagination import PageTokens
from crm_platform.tables import outbox
from tests.customers.conftest import MASTER_KEY

SCOPES = frozenset({"customers:read", "customers:write", "customers:export"})
RESIDENT_ID = "11010519491231002X"


def _service() -> CustomerService:
    return CustomerService(PageTokens("test-page-token-key"), SensitiveFields(LocalKeyWrapper(MASTER_KEY)))


def _rep(tenant: uuid.UUID, user: uuid.UUID, **extra: Any) -> Principal:
    return Principal(tenant_id=tenant, subject=f"user:{user}", client_id="web", scopes=SCOPES, user_id=user,
                     data_scope="own", **extra)


async def _seed(engine: AsyncEngine, tenant: uuid.UUID, rep_a: Principal, rep_b: Principal) -> None:
    service = _service()
    async with tenant_session(engine, tenant) as session:
        for n in range(5):
            await service.create(session, rep_a, {"name": f"A客户{n}", "mobile": f"1370000000{n}",
                                                  "annual_revenue": "1000.00",
                                                  **({"resident_id": RESIDENT_ID} if n == 0 else {})})
        await service.create(session, rep_b, {"name": "B的客户", "mobile": "13700000099", "annual_revenue": "5.00"})


async def _run(engine: AsyncEngine, runner: ExportRunner | None = None) -> list[jobs.Job]:
    claimed = await jobs.claim(engine, [JOB_KIND], 10, timedelta(minutes=1))
    for job in claimed:
        await (runner or ExportRunner(engine, _service()))(job)
    return claimed


async def _file(engine: AsyncEngine, tenant: uuid.UUID, caller: Principal, export_id: str) -> tuple[bytes, str]:
    exports = CustomerExports(_service())
    data, part, last, content_type = b"", 0, False, ""
    async with tenant_session(engine, tenant) as session:
        while not last:
            chunk, content_type, _, last = await exports.read_part(session, caller, export_id, part)
            data += chunk
            part += 1
    return data, content_type


async def _export(engine: AsyncEngine, tenant: uuid.UUID, caller: Principal, **kwargs: Any) -> str:
    arguments: dict[str, Any] = {"filters": {}, "order_by": "name asc", "format": "csv", "columns": []} | kwargs
    async with tenant_session(engine, tenant) as session:
        row = await CustomerExports(_service()).create(session, caller, **arguments)
    return str(row.id)


async def test_csv_export_has_only_the_requesters_customers_masked_as_for_reads(
    engine: AsyncEngine, tenant_id: uuid.UUID
) -> None:
    rep_a, rep_b = _rep(tenant_id, uuid.uuid4()), _rep(tenant_id, uuid.uuid4())
    await _seed(engine, tenant_id, rep_a, rep_b)
    export_id = await _export(engine, tenant_id, rep_a)
    assert len(await _run(engine)) == 1
    data, content_type = await _file(engine, tenant_id, rep_a, export_id)
    assert content_type.startswith("text/csv") and data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == [f"A客户{n}" for n in range(5)]  # never B's customer
    assert rows[0]["resident_id"] == "110***********002X"  # always masked
    assert rows[0]["annual_revenue"] == "1000.00" and rows[0]["mobile"] == "+8613700000000"

    async with tenant_session(engine, tenant_id) as session:
        row = await CustomerExports(_service()).get(session, rep_a, export_id)
        assert (row.status, row.rows_done, row.rows_total) == ("succeeded", 5, 5)
        # B cannot see A's export, nor read its file.
        with pytest.raises(NotFound):
            await CustomerExports(_service()).get(session, rep_b, export_id)
        with pytest.raises(NotFound):
            await CustomerExports(_service()).read_part(session, rep_b, export_id, 0)
        events = (await session.execute(sa.select(outbox.c.payload).where(
            outbox.c.subject == f"crm.{tenant_id}.customer.exported"))).scalars().all()
    assert len(events) == 1
    event = events[0]
    assert event["data"]["rows"] == 5 and event["data"]["format"] == "csv"
    assert event["data"]["actor"] == str(rep_a.user_id) and event["data"]["export_id"] == export_id


async def test_hidden_columns_are_absent_and_masked_ones_masked(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    rep_a = _rep(tenant_id, uuid.uuid4())
    await _seed(engine, tenant_id, rep_a, _rep(tenant_id, uuid.uuid4()))
    service_user = Principal(
        tenant_id=tenant_id, subject="user:cs", client_id="web", scopes=SCOPES, user_id=uuid.uuid4(),
        data_scope="all", field_policies={"annual_revenue": "hidden", "employees": "hidden", "mobile": "masked"},
    )
    export_id = await _export(engine, tenant_id, service_user, format="xlsx")
    await _run(engine)
    data, content_type = await _file(engine, tenant_id, service_user, export_id)
    assert content_type.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(data), read_only=True)["customers"]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    header, body = table[0], table[1:]
    assert "annual_revenue" not in header and "employees" not in header and "name" in header
    assert len(body) == 6
    mobiles = {r[header.index("mobile")] for r in body}
    assert mobiles == {"****"}
    # Asking for a hidden column is refused, nothing is queued.
    with pytest.raises(InvalidInput) as refused:
        await _export(engine, tenant_id, service_user, columns=["name", "annual_revenue"])
    assert [(e.field, e.code) for e in refused.value.errors] == [("columns", "field_hidden")]
    assert await _run(engine) == []


async def test_a_crashed_export_resumes_after_its_last_page(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    rep_a = _rep(tenant_id, uuid.uuid4())
    await _seed(engine, tenant_id, rep_a, _rep(tenant_id, uuid.uuid4()))
    export_id = await _export(engine, tenant_id, rep_a, columns=["code", "name"])
    [job] = await jobs.claim(engine, [JOB_KIND], 1, timedelta(minutes=1))
    runner = ExportRunner(engine, _service(), page=2)
    assert await runner.start(tenant_id, uuid.UUID(export_id), job.id)
    assert not await runner.step(tenant_id, uuid.UUID(export_id), job.id)  # first page, then "crash"
    # Another worker picks it up later and finishes without repeating the first page.
    await ExportRunner(engine, _service(), page=2)(job)
    data, _ = await _file(engine, tenant_id, rep_a, export_id)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["code", "name"]
    assert [r[1] for r in rows[1:]] == [f"A客户{n}" for n in range(5)]


async def test_bad_export_requests_name_the_field(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    rep_a = _rep(tenant_id, uuid.uuid4())
    with pytest.raises(InvalidInput) as bad:
        await _export(engine, tenant_id, rep_a, filters={"status": "asleep", "colour": "red"}, format="pdf",
                      columns=["nope"])
    assert sorted((e.field, e.code) for e in bad.value.errors) == [
        ("columns[0]", "unknown_column"), ("filters.colour", "unknown_filter"), ("format", "invalid_choice"),
    ]
    with pytest.raises(InvalidInput) as bad:
        await _export(engine, tenant_id, rep_a, filters={"status": "asleep"})
    assert [(e.field, e.code) for e in bad.value.errors] == [("filters.status", "invalid_choice")]


def test_stored_control_characters_and_formulas_stay_text_in_both_files() -> None:
    """Values written before the text rule may hold control characters: the CSV shows them as
    U+FFFD and the XLSX stays a readable workbook; a header (a custom field's label) that looks like
    a formula was written as a formula before, it is a string cell now."""
    from crm_customers.exports import files

    page = files.csv_text([["Acme\x00Ltd", "=1+2", "+8613800138000", "line\nbreak"]])
    assert next(files.read_csv(page)) == ["Acme\ufffdLtd", "'=1+2", "+8613800138000", "line\nbreak"]
    workbook = files.XlsxFile(["name", "=SUM(A1)"])
    workbook.add_page(page)
    with workbook.save() as handle:
        sheet = load_workbook(handle).active
        assert sheet is not None
        rows = [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]
    assert rows[0][:2] == [("name", "s"), ("=SUM(A1)", "s")]
    assert rows[1][0] == ("Acme\ufffdLtd", "s") and rows[1][1] == ("'=1+2", "s")
