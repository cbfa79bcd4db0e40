"""Customer import in the service (docs/customers.md "Customer import"): header matching in both
languages, every row's problems in the dry run (messy files: GBK, BOM, full-width characters,
bad mobiles, missing names, duplicates within the file and against customers), the import job
(codes from the pattern, sensitive fields sealed, one event per batch, resumable after a cancel),
and the undo. Real Postgres, real jobs table; jobs are claimed and run as the JobWorker would."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.schemas import to_proto
from crm_customers.customer.service import CustomerService
from crm_customers.customer.tables import customer_settings, customers
from crm_customers.duplicates.keys import keys_of
from crm_customers.duplicates.tables import match_keys, name_deletions
from crm_customers.importing import repository
from crm_customers.importing.service import JOB_KIND, CustomerImports, ImportRunner
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_platform import jobs
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, InvalidInput, NotFound
from crm_platform.events import proto_data
from crm_platform.ids import tenant_schema
from crm_platform.pagination import PageTokens
from crm_platform.tables import outbox
from tests.customers.conftest import MASTER_KEY

SCOPES = frozenset({"customers:read", "customers:write"})
ADMIN = SCOPES | {"customers:admin"}
RESIDENT_ID = "11010519491231002X"


def _sensitive() -> SensitiveFields:
    return SensitiveFields(LocalKeyWrapper(MASTER_KEY))


def _user(tenant: uuid.UUID, user: uuid.UUID | None = None, *, scopes: frozenset[str] = ADMIN,
          data_scope: str = "all", **extra: Any) -> Principal:
    user = user or uuid.uuid4()
    return Principal(tenant_id=tenant, subject=f"user:{user}", client_id="web", scopes=scopes, user_id=user,
                     data_scope=data_scope, **extra)


def _csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _upload(engine: AsyncEngine, caller: Principal, content: bytes, filename: str = "customers.csv",
                  mapping: dict[str, str] | None = None, mode: str = "skip") -> Any:
    imports = CustomerImports(_sensitive())
    async with tenant_session(engine, caller.tenant_id) as session:
        row = await imports.create(session, caller, filename, len(content))
    for seq, start in enumerate(range(0, len(content), 1000)):
        async with tenant_session(engine, caller.tenant_id) as session:
            await imports.append(session, caller, str(row.id), seq, content[start:start + 1000])
    async with tenant_session(engine, caller.tenant_id) as session:
        return await imports.finish_upload(session, caller, str(row.id), mapping or {}, mode)


async def _run(engine: AsyncEngine, batch: int = 2000) -> list[dict[str, Any]]:
    results = []
    for job in await jobs.claim(engine, [JOB_KIND], 10, timedelta(minutes=1)):
        result = await ImportRunner(engine, _sensitive(), batch=batch)(job)
        await jobs.complete(engine, job.id, result)
        results.append(result)
    return results


async def _get(engine: AsyncEngine, caller: Principal, import_id: Any) -> Any:
    async with tenant_session(engine, caller.tenant_id) as session:
        return await CustomerImports(_sensitive()).get(session, caller, str(import_id))


async def _problems(engine: AsyncEngine, caller: Principal, import_id: Any) -> list[tuple[int, str, str]]:
    async with tenant_session(engine, caller.tenant_id) as session:
        return [(p.row, p.column, p.code) for p in await repository.all_problems(session, import_id)]


async def _act(engine: AsyncEngine, caller: Principal, action: str, import_id: Any, *args: Any) -> Any:
    async with tenant_session(engine, caller.tenant_id) as session:
        return await getattr(CustomerImports(_sensitive()), action)(session, caller, str(import_id), *args)


HEADER_ZH = ["客户名称", "联系人", "手机号码", "邮箱", "首次接触时间", "所属行业", "身份证号"]


async def test_chinese_headers_map_and_the_dry_run_lists_every_rows_problems(engine: AsyncEngine,
                                                                             tenant_id: uuid.UUID) -> None:
    admin = _user(tenant_id)
    content = _csv([
        HEADER_ZH,
        ["北京一号科技有限公司", "张三", "13800138000", "a@example.com", "2024-01-15", "IT", RESIDENT_ID],
        ["", "李四", "13800138001", "", "", "", ""],                     # row 3: no name
        ["上海二号贸易有限公司", "王五", "1380013800", "", "", "", ""],      # row 4: bad mobile
        ["广州三号有限公司", "", "１３９００１３９０００", "", "2024/2/3", "", ""],  # row 5: full-width mobile, date
        ["深圳四号有限公司", "", "13800138000", "", "", "", ""],            # row 6: mobile of row 2
        ["杭州五号有限公司", "", "", "bad@", "2999-01-01", "Nope", "123"],   # row 7: several problems
    ], encoding="gb18030")
    upload = await _upload(engine, admin, content)
    assert upload.row.encoding == "gb18030"
    assert upload.row.mapping == {"0": "name", "1": "contact_person", "2": "mobile", "3": "email",
                                  "4": "first_contact_date", "5": "industry", "6": "resident_id"}
    assert upload.missing == []
    await _run(engine)
    row = await _get(engine, admin, upload.row.id)
    assert (row.status, row.total_rows, row.error_rows, row.duplicate_rows) == ("validated", 6, 3, 1)
    found = await _problems(engine, admin, upload.row.id)
    assert (3, "name", "required") in found
    assert (4, "mobile", "invalid_phone") in found
    assert (6, "mobile", "duplicate_in_file") in found
    assert {(7, "email", "invalid_email"), (7, "first_contact_date", "date_in_future"),
            (7, "resident_id", "invalid_resident_id")} <= set(found)
    assert not [p for p in found if p[0] in (2, 5)]
    async with tenant_session(engine, tenant_id) as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(customers))).scalar_one() == 0


async def test_import_creates_with_codes_sealed_fields_one_event_per_batch_and_undo(
    engine: AsyncEngine, tenant_id: uuid.UUID
) -> None:
    admin = _user(tenant_id)
    rows = [["Name", "Mobile", "Resident ID", "Type", "Status"]]
    rows += [[f"Company {n} Ltd", f"1390000{n:04d}", RESIDENT_ID if n == 0 else "", "企业", "意向客户"]
             for n in range(25)]
    rows.append(["", "13700000000", "", "", ""])  # an error row: skipped by the import
    upload = await _upload(engine, admin, _xlsx(rows), "list.xlsx")
    assert upload.row.format == "xlsx"
    await _run(engine)
    async with tenant_session(engine, tenant_id) as session:
        before_events = (await session.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()
    await _act(engine, admin, "start", upload.row.id, "skip")
    await _run(engine, batch=10)
    row = await _get(engine, admin, upload.row.id)
    assert (row.status, row.created_count, row.skipped_count, row.cursor) == ("succeeded", 25, 1, 27)
    async with tenant_session(engine, tenant_id) as session:
        stored = list(await session.execute(sa.select(customers).order_by(customers.c.code)))
        events = list(await session.execute(sa.select(outbox.c.subject, outbox.c.payload).where(
            outbox.c.subject.like("%.customer.imported"))))
        after_events = (await session.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()
        stored_keys = {(k.customer_id, k.kind, k.value) for k in await session.execute(sa.select(match_keys))}
        stored_keys |= {(n.customer_id, "name_del", value) for n in await session.execute(sa.select(name_deletions))
                        for value in n.deletions}
    assert len(stored) == 25
    # The match keys made in SQL from the staged rows (name_del too) are the ones keys_of makes.
    assert stored_keys == {(c.id, kind, value) for c in stored for kind, value in keys_of(c._mapping)}
    assert any(kind == "name_del" for _, kind, _ in stored_keys)
    assert len({c.code for c in stored}) == 25 and all(c.code for c in stored)
    assert {c.status for c in stored} == {"intent"} and {c.type for c in stored} == {"enterprise"}
    assert {c.owner_id for c in stored} == {admin.user_id}
    sealed = [c for c in stored if c.resident_id_enc is not None]
    assert len(sealed) == 1 and RESIDENT_ID.encode() not in sealed[0].resident_id_enc
    assert sealed[0].resident_id_masked.startswith("110")
    # 3 batches of at most 10 rows: 3 customer events carrying all 25, plus the completion event.
    assert len(events) == 3
    carried = [c["id"] for e in events for c in e.payload["data"]["customers"]]
    assert sorted(carried) == sorted(str(c.id) for c in stored)
    # Each carries the customer as the API shows it (the contract mapping of the stored row).
    by_id = {c["id"]: c for e in events for c in e.payload["data"]["customers"]}
    assert all(by_id[str(c.id)] == proto_data(to_proto(c)) for c in stored)
    assert after_events - before_events == 4
    # A second import of the same file finds them all as duplicates of existing customers.
    again = await _upload(engine, admin, _xlsx(rows), "list.xlsx")
    await _run(engine)
    assert (await _get(engine, admin, again.row.id)).duplicate_rows == 25
    # Undo: the created customers are deleted.
    await _act(engine, admin, "undo", upload.row.id)
    await _run(engine, batch=10)
    row = await _get(engine, admin, upload.row.id)
    assert row.status == "undone"
    async with tenant_session(engine, tenant_id) as session:
        live = (await session.execute(sa.select(sa.func.count()).select_from(customers)
                                      .where(customers.c.deleted_at.is_(None)))).scalar_one()
    assert live == 0
    with pytest.raises(Conflict):
        await _act(engine, admin, "undo", upload.row.id)
    # Deleting customer rows (erasure does) removes their match keys (migration c0210's trigger) and
    # name neighbourhoods (c0252).
    gone = stored[0].id
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.delete(customers).where(customers.c.id.in_([gone, stored[1].id])))
        left = {k.customer_id for k in await session.execute(sa.select(match_keys.c.customer_id))}
        neighbours = set((await session.execute(sa.select(name_deletions.c.customer_id))).scalars())
    assert gone not in left and stored[1].id not in left and stored[2].id in left
    assert gone not in neighbours and stored[1].id not in neighbours and stored[2].id in neighbours


async def test_update_mode_updates_existing_and_undo_restores_them(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    admin = _user(tenant_id)
    service = CustomerService(PageTokens("k"), _sensitive())
    async with tenant_session(engine, tenant_id) as session:
        existing = await service.create(session, admin, {"name": "老客户有限公司", "mobile": "13600000001",
                                                         "notes": "old"})
    content = _csv([["name", "mobile", "notes"], ["老客户有限公司", "13600000001", "new notes"],
                    ["新客户有限公司", "13600000002", "fresh"]], encoding="utf-8-sig")
    upload = await _upload(engine, admin, content, mode="update")
    assert upload.row.encoding == "utf-8-sig"
    await _run(engine)
    await _act(engine, admin, "start", upload.row.id, "update")
    await _run(engine)
    row = await _get(engine, admin, upload.row.id)
    assert (row.created_count, row.updated_count) == (1, 1)
    async with tenant_session(engine, tenant_id) as session:
        changed = (await session.execute(sa.select(customers).where(customers.c.id == existing.id))).one()
    assert changed.notes == "new notes" and changed.version == 2
    await _act(engine, admin, "undo", upload.row.id)
    await _run(engine)
    async with tenant_session(engine, tenant_id) as session:
        restored = (await session.execute(sa.select(customers).where(customers.c.id == existing.id))).one()
        live = (await session.execute(sa.select(customers.c.name).where(customers.c.deleted_at.is_(None)))).all()
    assert restored.notes == "old" and restored.deleted_at is None
    assert [r.name for r in live] == ["老客户有限公司"]


async def test_cancel_then_resume_goes_on_after_the_last_batch(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    admin = _user(tenant_id)
    content = _csv([["客户名称", "手机"]] + [[f"公司{n}", f"1350000{n:04d}"] for n in range(30)])
    upload = await _upload(engine, admin, content)
    await _run(engine)
    await _act(engine, admin, "start", upload.row.id, "")
    # Cancelled before the job runs: no batch is written.
    await _act(engine, admin, "cancel", upload.row.id)
    await _run(engine, batch=10)
    row = await _get(engine, admin, upload.row.id)
    assert (row.status, row.created_count) == ("cancelled", 0)
    await _act(engine, admin, "resume", upload.row.id)
    await _run(engine, batch=10)
    row = await _get(engine, admin, upload.row.id)
    assert (row.status, row.created_count) == ("succeeded", 30)


async def test_files_that_are_not_spreadsheets_and_wrong_mappings_are_refused(engine: AsyncEngine,
                                                                              tenant_id: uuid.UUID) -> None:
    admin = _user(tenant_id)
    with pytest.raises(InvalidInput) as caught:
        await _upload(engine, admin, b"\x00\x01\x02binary", "x.bin")
    assert caught.value.errors[0].code == "unsupported_file"
    with pytest.raises(InvalidInput) as caught:
        await _upload(engine, admin, "名称\n".encode("utf-16"), "x.csv")
    assert caught.value.errors[0].code in ("unsupported_file", "invalid_encoding")
    with pytest.raises(InvalidInput) as caught:
        await _upload(engine, admin, _csv([["name", "mobile"], ["A", "13800138000"]]),
                      mapping={"0": "name", "1": "nope", "7": "mobile"})
    assert {e.code for e in caught.value.errors} == {"unknown_field", "unknown_column"}


async def test_a_rep_imports_as_owner_and_cannot_see_anothers_import(engine: AsyncEngine,
                                                                     tenant_id: uuid.UUID) -> None:
    rep = _user(tenant_id, scopes=SCOPES, data_scope="own")
    other = _user(tenant_id, scopes=SCOPES, data_scope="own")
    upload = await _upload(engine, rep, _csv([["name", "mobile"], ["Rep Co", "13800138000"]]))
    with pytest.raises(NotFound):
        await _get(engine, other, upload.row.id)
    await _run(engine)
    await _act(engine, rep, "start", upload.row.id, "")
    await _run(engine)
    async with tenant_session(engine, tenant_id) as session:
        owner = (await session.execute(sa.select(customers.c.owner_id))).scalar_one()
    assert owner == rep.user_id
    # Field policy: a rep whose role may not write mobile cannot map it.
    limited = _user(tenant_id, scopes=SCOPES, data_scope="own", field_policies={"mobile": "read_only"})
    with pytest.raises(InvalidInput) as caught:
        await _upload(engine, limited, _csv([["name", "mobile"], ["X", "13800138000"]]))
    assert caught.value.errors[0].code == "field_read_only"


async def test_error_file_keeps_the_uploads_format_with_an_error_column(engine: AsyncEngine,
                                                                        tenant_id: uuid.UUID) -> None:
    admin = _user(tenant_id)
    upload = await _upload(engine, admin, _xlsx([["客户名称", "手机号码"], ["好公司", "13800138000"],
                                                 ["", "123"]]), "a.xlsx")
    await _run(engine)
    async with tenant_session(engine, tenant_id) as session:
        name, kind, data = await CustomerImports(_sensitive()).error_file(
            session, admin, str(upload.row.id), {"required": "必填", "invalid_phone": "手机号无效"}, "错误")
    assert name == "a-errors.xlsx" and "spreadsheetml" in kind
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0] == ["客户名称", "手机号码", "错误"]
    assert len(values) == 2 and "客户名称: 必填" in values[1][2] and "手机号码: 手机号无效" in values[1][2]


async def test_the_import_uses_the_dry_runs_checked_rows_unless_a_setting_changed(engine: AsyncEngine,
                                                                                  tenant_id: uuid.UUID) -> None:
    """The dry run keeps its checked rows (customer_import_checked) and the import goes through
    them, not the file; a setting changed in between (here the code pattern) makes it check again."""
    admin = _user(tenant_id)
    checked = repository.import_checked

    async def kept(import_id: Any) -> int:
        async with tenant_session(engine, tenant_id) as session:
            return (await session.execute(sa.select(sa.func.count()).select_from(checked)
                                          .where(checked.c.import_id == import_id))).scalar_one()

    # Quotes and backslashes: the staged arrays are literals (repository.text_array).
    names = [f'留存"公司\\{n}' if n % 2 else f"留存公司{n}" for n in range(5)]
    content = _csv([["客户名称", "手机"]] + [[name, f"1380000{n:04d}"] for n, name in enumerate(names)]
                   + [["", "13800009999"]])
    upload = await _upload(engine, admin, content)
    await _run(engine, batch=4)
    assert await kept(upload.row.id) == 2
    # Without the file the import can only have used the kept rows.
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.delete(repository.import_parts)
                              .where(repository.import_parts.c.import_id == upload.row.id))
    await _act(engine, admin, "start", upload.row.id, "skip")
    assert [r["kept_rows"] for r in await _run(engine, batch=3)] == [True]
    row = await _get(engine, admin, upload.row.id)
    assert (row.status, row.created_count, row.skipped_count, row.error_rows) == ("succeeded", 5, 1, 1)
    assert await kept(upload.row.id) == 0
    async with tenant_session(engine, tenant_id) as session:
        schema = tenant_schema(tenant_id)
        stored = (await session.execute(sa.text(
            f'SELECT name, short_search_grams AS given, "{schema}".short_search_grams(lower(name || \' \' || '
            f"contact_person || ' ' || name_initials)) AS expected FROM \"{schema}\".customers "
            "WHERE deleted_at IS NULL"))).all()
    assert {r.name for r in stored} == set(names)
    # The grams the import gave (search/grams.py) are PostgreSQL's.
    assert all(sorted(r.given) == sorted(r.expected) for r in stored)

    # The code pattern changes after the dry run: the import checks the file again, so the new
    # customers' codes follow the new pattern.
    content = _csv([["客户名称", "手机"]] + [[f"新规则公司{n}", f"1370000{n:04d}"] for n in range(3)])
    upload = await _upload(engine, admin, content)
    await _run(engine)
    assert await kept(upload.row.id) == 1
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.update(customer_settings).where(customer_settings.c.id == 1).values(
            code_pattern="NEW{seq:04}", version=customer_settings.c.version + 1))
    await _act(engine, admin, "start", upload.row.id, "skip")
    assert [r["kept_rows"] for r in await _run(engine)] == [False]
    row = await _get(engine, admin, upload.row.id)
    assert (row.status, row.created_count) == ("succeeded", 3)
    async with tenant_session(engine, tenant_id) as session:
        new_codes = sorted((await session.execute(sa.select(customers.c.code)
                                                  .where(customers.c.name.like("新规则公司%")))).scalars())
    assert new_codes == ["NEW0001", "NEW0002", "NEW0003"]


class NotAStoredClass:
    """A class a stored batch must not be able to name (pickle would build anything it names)."""


def test_a_kept_batch_loads_as_it_was_dumped_and_names_no_other_class() -> None:
    import pickle
    import zlib
    from datetime import date
    from decimal import Decimal

    from crm_customers.customer.codes import CodePrefix
    from crm_customers.importing import checking

    rows = [(2, checking.Checked(values={"name": "甲", "owner_id": uuid.uuid4(), "resident_id_enc": b"\x00\x01",
                                         "first_contact_date": date(2024, 1, 5), "annual_revenue": Decimal("1.50"),
                                         "custom_fields": {"tags": ["a"]}},
                                 problems=[], keys=[("phone", "+8613800000000")], given={"name", "mobile"},
                                 prefix=CodePrefix("C-\x00", 4))),
            (3, checking.Checked(problems=[("mobile", "invalid_mobile")], given={"mobile"}))]
    assert checking.load_batch(checking.dump_batch(rows)) == rows
    hostile = zlib.compress(pickle.dumps([(1, NotAStoredClass, [], [], set(), None)]))
    with pytest.raises(pickle.UnpicklingError):
        checking.load_batch(hostile)
