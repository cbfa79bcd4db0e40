"""The user-import job against a real PostgreSQL (imports/service.py): validation codes per row, CSV
in GBK, the template read back, and a job interrupted mid-way that resumes without creating or
mailing anyone twice (mail of the interrupted batch rolls back with it; the rest goes out through the
mail outbox to a real local SMTP server)."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.imports import spreadsheet
from crm_identity.imports.service import BATCH, JOB_KIND, UserImports
from crm_identity.invitations.service import Actor, Invitations
from crm_identity.tables import invitations, teams, user_imports, users
from crm_identity.users import service as user_service
from crm_platform import jobs
from crm_platform.auth import TENANT_SCOPES, Principal
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import Unavailable
from crm_platform.ids import new_id
from crm_platform.mail import Mailer, MailSender, SmtpTransport
from crm_platform.tables import jobs as jobs_table
from tests.mail import received
from tests.support import SmtpServer

MAILER = Mailer("no-reply@crm.test")


class FlakyInvitations(Invitations):
    """Invitations that fail from the `fail_at`-th one on (as if the database went away mid-batch)."""

    def __init__(self, engine: AsyncEngine, fail_at: int | None = None):
        super().__init__(engine, MAILER, "http://crm.test")
        self.fail_at = fail_at
        self.issued = 0

    async def issue(self, session: Any, tenant_id: uuid.UUID, user: sa.Row[Any], actor: Actor,
                    import_id: uuid.UUID | None = None) -> sa.Row[Any]:
        if self.fail_at is not None and self.issued + 1 >= self.fail_at:
            raise Unavailable("the database went away")
        self.issued += 1
        return await super().issue(session, tenant_id, user, actor, import_id)


async def admin(engine: AsyncEngine, tenant: uuid.UUID) -> Principal:
    async with tenant_session(engine, tenant) as session:
        row = await user_service.create_user(session, "admin@example.com", "Quiet-harbour-lamp-7", "Admin",
                                             ["tenant_admin"])
    return Principal(tenant_id=tenant, subject=str(row.id), client_id="crm-web",
                     scopes=frozenset(s.value for s in TENANT_SCOPES), roles=("tenant_admin",), user_id=row.id)


def csv_bytes(lines: list[str], encoding: str = "utf-8-sig") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


async def test_rows_are_validated_one_by_one(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    caller = await admin(users_engine, tenant_id)
    async with tenant_session(users_engine, tenant_id) as session:
        north = new_id()
        sales = new_id()
        await session.execute(sa.insert(teams), [{"id": sales, "name": "销售部", "parent_id": None},
                                                 {"id": north, "name": "华北组", "parent_id": sales}])
    imports = UserImports(users_engine, Invitations(users_engine, MAILER, "http://crm.test"))
    content = csv_bytes([
        "邮箱,姓名,角色,团队",
        f"{spreadsheet.EXAMPLE_EMAIL},例子,销售代表,销售部",  # the template's example: ignored
        "zhang.san@example.cn,张三,销售代表、客服,销售部/华北组",
        "not-an-email,李四,,",
        "zhang.san@example.cn,张三二,,",
        "admin@example.com,管理员,,",
        "wang.wu@example.cn,,总监,华南组",
        "zhao.liu@example.cn,赵六,Sales manager,华北组",
    ], "gb18030")
    async with tenant_session(users_engine, tenant_id) as session:
        result = await imports.validate(session, caller, "users.csv", content, "zh-CN")
        count = (await session.execute(sa.select(sa.func.count()).select_from(users))).scalar_one()
    assert count == 1  # validation writes nothing
    assert result.total == 6
    got = {(e.row, e.column, e.code) for e in result.errors}
    assert got == {
        (4, "email", "invalid_email"), (5, "email", "duplicate_email_in_file"), (6, "email", "email_exists"),
        (7, "display_name", "required"), (7, "roles", "unknown_role"), (7, "team", "unknown_team"),
    }
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert messages[(5, "email")] == "该邮箱与文件第 3 行重复。"
    assert messages[(7, "roles")] == "没有名为“总监”的角色。"
    valid = dict(result.rows)
    assert valid[3]["roles"] == ["sales_rep", "customer_service"] and valid[3]["team_id"] == north
    assert valid[8]["roles"] == ["sales_manager"] and valid[8]["team_id"] == north  # a unique name is enough


async def test_template_reads_back(users_engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    caller = await admin(users_engine, tenant_id)
    imports = UserImports(users_engine, Invitations(users_engine, MAILER, "http://crm.test"))
    for fmt in ("xlsx", "csv"):
        async with tenant_session(users_engine, tenant_id) as session:
            name, _, content = await imports.template(session, fmt, "en")
            assert name.endswith(fmt)
            sheet = spreadsheet.read(name, content)
            assert set(sheet.columns) == set(spreadsheet.COLUMNS) and sheet.rows == []  # only the example row
    with pytest.raises(spreadsheet.NotASpreadsheet):
        spreadsheet.read("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    del caller


async def test_interrupted_import_resumes_without_duplicates(
    users_engine: AsyncEngine, tenant_id: uuid.UUID, smtp_server: SmtpServer
) -> None:
    caller = await admin(users_engine, tenant_id)
    total = BATCH * 2 + 5
    domain = f"{new_id().hex[:8]}.example.cn"
    lines = ["email,display_name,roles,team"] + [f"user{i}@{domain},User {i},sales_rep," for i in range(total)]
    flaky = FlakyInvitations(users_engine, fail_at=BATCH + 7)  # fails inside the second batch
    imports = UserImports(users_engine, flaky)
    async with tenant_session(users_engine, tenant_id) as session:
        validated = await imports.validate(session, caller, "users.csv", csv_bytes(lines), "en")
        assert not validated.errors
        started = await imports.start(session, caller, "users.csv", validated)
    async with control_session(users_engine) as session:
        queued = (await session.execute(sa.select(jobs_table).where(jobs_table.c.kind == JOB_KIND,
                                                                    jobs_table.c.tenant_id == tenant_id))).one()
    job = jobs.Job(queued.id, JOB_KIND, tenant_id, dict(queued.payload), attempts=1, max_attempts=5)

    with pytest.raises(Unavailable):
        await imports.run(job)
    async with tenant_session(users_engine, tenant_id) as session:
        state = (await session.execute(sa.select(user_imports).where(user_imports.c.id == started.id))).one()
        invited = (await session.execute(sa.select(sa.func.count()).where(users.c.status == "invited"))).scalar_one()
    assert (state.status, state.processed, state.created) == ("running", BATCH, BATCH)
    assert "went away" in state.error
    assert invited == BATCH  # the failed batch rolled back as a whole, its mail with it

    flaky.fail_at = None  # the database is back; the job is retried
    result = await imports.run(jobs.Job(queued.id, JOB_KIND, tenant_id, dict(queued.payload), 2, 5))
    assert result["created"] == total
    async with tenant_session(users_engine, tenant_id) as session:
        state = (await session.execute(sa.select(user_imports).where(user_imports.c.id == started.id))).one()
        emails = (await session.execute(sa.select(users.c.email).where(users.c.status == "invited"))).scalars().all()
        sent = (await session.execute(sa.select(sa.func.count()).select_from(invitations))).scalar_one()
    assert (state.status, state.processed, state.created) == ("succeeded", total, total)
    assert sorted(emails) == sorted(f"user{i}@{domain}" for i in range(total))  # each exactly once
    assert sent == total
    # Every invited user gets exactly one mail: the interrupted batch's mail was never sent.
    sender = MailSender(users_engine, SmtpTransport("127.0.0.1", smtp_server.port, security="none"), batch_size=50)
    while await sender.send_batch():
        pass
    delivered = [to for m in await asyncio.to_thread(received, smtp_server.maildir)
                 for to in m.envelope_to if to.endswith("@" + domain)]
    assert sorted(delivered) == sorted(emails)
    # Running the finished job again changes nothing.
    await imports.run(jobs.Job(queued.id, JOB_KIND, tenant_id, dict(queued.payload), 3, 5))
    async with tenant_session(users_engine, tenant_id) as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(users))).scalar_one() == total + 1


async def test_template_with_stored_control_characters(
    users_engine: AsyncEngine, tenant_id: uuid.UUID
) -> None:
    """A team name stored before the text rule with a control character (and one that looks like a
    formula) made the xlsx template a 500 (openpyxl IllegalCharacterError) for the whole tenant."""
    async with tenant_session(users_engine, tenant_id) as session:
        await session.execute(sa.insert(teams), [{"id": new_id(), "name": "Sales\x1bNorth", "parent_id": None},
                                                 {"id": new_id(), "name": "=HYPERLINK(\"x\")", "parent_id": None}])
    imports = UserImports(users_engine, Invitations(users_engine, MAILER, "http://crm.test"))
    async with tenant_session(users_engine, tenant_id) as session:
        _, _, content = await imports.template(session, "xlsx", "en")
    book = openpyxl.load_workbook(io.BytesIO(content))
    cells = {cell.value: cell.data_type for row in book["Roles and teams"].iter_rows() for cell in row if cell.value}
    assert cells["Sales\ufffdNorth"] == "s"
    assert cells["=HYPERLINK(\"x\")"] == "s"  # a string cell: shown as typed, never run


async def test_rows_with_hostile_text_are_refused(
    users_engine: AsyncEngine, tenant_id: uuid.UUID
) -> None:
    caller = await admin(users_engine, tenant_id)
    imports = UserImports(users_engine, Invitations(users_engine, MAILER, "http://crm.test"))
    content = csv_bytes([
        "email,display_name,roles,team",
        "a@example.cn,A\x01,,",
        "b@example.cn,\u200b,,",
        "c@example.cn,Evil\u202egnp.exe,,",
        "d\x07@example.cn,D,,",
        "e@example.cn,E,,",
    ])
    async with tenant_session(users_engine, tenant_id) as session:
        result = await imports.validate(session, caller, "users.csv", content, "en")
    assert {(e.row, e.column, e.code) for e in result.errors} == {
        (2, "display_name", "invalid_characters"), (3, "display_name", "empty_after_cleaning"),
        (4, "display_name", "invalid_characters"), (5, "email", "invalid_characters"),
    }
    assert [number for number, _ in result.rows] == [6]
