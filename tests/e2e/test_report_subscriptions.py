"""Report subscriptions against the real processes (docs/reporting.md, "Subscriptions"): the admin
subscribes a manager, two reps, customer service and a rep without customers to a dashboard; the
platform scheduler fires it (its row made due now), the job computes each recipient's copy under
their OWN permissions and the mail arrives on the real local SMTP server with the chart inline and
the XLSX attached; each copy's figures are compared with what the OLTP API shows that recipient.
The delivery log (sent / skipped empty), the unsubscribe link (signed; a forged one is refused),
per-role access to `/v1/report-subscriptions` (another user's 404, another tenant 404, a missing
scope 403, forged and expired tokens 401) and bad input."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from crm_dev.platform import Platform
from crm_gateway.dev_mail import DevMailbox
from crm_platform.db import create_engine
from tests.conftest import TenantContext
from tests.e2e.test_access_enforcement import Org, _sign_in, build_org
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http, create_user
from tests.e2e.test_orders import _eventually, _order
from tests.e2e.test_report_scope import _with_claims
from tests.mail import wait_for_mail

PANELS = ["kpis", "industry", "top_customers"]
AMOUNTS = {"a1": "100.00", "a2": "200.00", "b1": "400.00", "admin": "800.00"}


@pytest.fixture(scope="module")
def people(platform: Platform, api: Any) -> tuple[Org, TenantContext]:
    from tests.conftest import new_tenant

    tenant = new_tenant(api)
    org = build_org(platform, tenant)
    admin = org.http["admin"]
    for who, amount in AMOUNTS.items():
        reply = admin.post("/v1/orders", json=_order(org.customers[who]["code"], f"M-{who}", amount=amount))
        assert reply.status_code == 201, reply.text
    # A rep of team B without customers: nothing to report.
    email = f"empty@{tenant.slug}.example.com"
    team_b = admin.get(f"/v1/users/{org.users['b1']}").json()["team_id"]
    org.users["empty"] = create_user(tenant, email, roles=["sales_rep"], team_id=team_b)["id"]
    org.http["empty"] = httpx.Client(base_url=platform.gateway_url, timeout=30,
                                     headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
    _eventually(lambda: len(admin.get("/v1/dashboards/panels/top_customers").json()["points"]) == 4, seconds=60)
    return org, tenant


def _email(tenant: TenantContext, who: str) -> str:
    return f"{who}@{tenant.slug}.example.com"


def _subscribe(http: httpx.Client, recipients: list[str], **body: Any) -> dict[str, Any]:
    reply = http.post("/v1/report-subscriptions", json={
        "target": {"panels": PANELS}, "title": "Weekly customers", "frequency": "weekly", "weekday": 1,
        "time_of_day": "09:00", "recipient_ids": recipients, **body})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _make_due(platform: Platform, subscription_id: str) -> None:
    async def run() -> None:
        engine = create_engine(platform.database_url("reporting"), pool_size=1)
        try:
            async with engine.begin() as conn:
                changed = await conn.execute(sa.text(
                    "UPDATE control.schedules SET due_at = now() WHERE kind = 'reporting.subscription' AND key = :key"),
                    {"key": f"sub:{subscription_id}"})
                assert changed.rowcount == 1
        finally:
            await engine.dispose()

    asyncio.run(run())


def _workbook(platform: Platform, mail: Any) -> list[list[list[Any]]]:
    """The sheets' rows below the title and header, in the subscription's panel order."""
    assert len(mail.attachments) == 1 and mail.attachments[0].filename.endswith(".xlsx")
    part = DevMailbox(platform.mail_dir).part(mail.key, mail.attachments[0].index)
    assert part is not None
    book = load_workbook(io.BytesIO(part[2]))
    return [[list(r) for r in sheet.iter_rows(min_row=3, values_only=True)] for sheet in book]


def _seen(http: httpx.Client) -> list[dict[str, Any]]:
    reply = http.get("/v1/customers", params={"page_size": 500})
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def test_each_recipient_gets_their_own_figures(people: tuple[Org, TenantContext], platform: Platform) -> None:
    org, tenant = people
    admin = org.http["admin"]
    who = ["manager", "a1", "b1", "cs", "empty"]
    sub = _subscribe(admin, [org.users[w] for w in who])
    # Weekly on Monday 09:00 in the tenant's zone, as the scheduler will run it.
    zone = ZoneInfo(sub["time_zone"])
    next_run = datetime.fromisoformat(sub["next_run_at"].replace("Z", "+00:00")).astimezone(zone)
    assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 9, 0)
    assert timedelta(0) < next_run - datetime.now(UTC) <= timedelta(days=7)
    assert sub["rrule"] == "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
    _make_due(platform, sub["id"])
    mails = {w: wait_for_mail(platform.mail_dir, _email(tenant, w), timeout=90)[-1]
             for w in ("manager", "a1", "b1", "cs")}
    for w, mail in mails.items():
        assert "Weekly customers" in mail.subject
        assert any(p.content_id.strip("<>") == "chart-1@crm" for p in mail.inline), mail.inline
        assert 'src="cid:chart-1@crm"' in mail.html
        sheets = _workbook(platform, mail)
        seen = _seen(org.http[w])
        kpis = sheets[0]  # key figures: customers first, spend rows carry their currency
        assert kpis[0][1] == len(seen), (w, kpis, len(seen))
        if w == "cs":  # customer service never receives money: no spend row, no top customers
            assert len(sheets) == 2 and not any(row[2] == "CNY" for row in kpis)
            continue
        assert len(sheets) == 3 and any(row[2] == "CNY" for row in kpis)
        top = sheets[2]
        amounts = sorted(str(row[1]) for row in top)
        expected = sorted(AMOUNTS[o] for o, c in org.customers.items() if c["id"] in {s["id"] for s in seen})
        assert [f"{float(a):.2f}" for a in amounts] == expected, (w, top)
    # Nothing for the rep without customers; nothing for the admin (not a recipient).
    assert not DevMailbox(platform.mail_dir).list(to=_email(tenant, "empty"))

    def log() -> dict[str, tuple[str, str]]:
        reply = admin.get(f"/v1/report-subscriptions/{sub['id']}/deliveries")
        assert reply.status_code == 200, reply.text
        return {d["recipient_id"]: (d["status"], d["reason"]) for d in reply.json()["items"]}

    _eventually(lambda: all(s == "sent" for r, (s, _) in log().items() if r != org.users["empty"]), seconds=30)
    assert log()[org.users["empty"]] == ("skipped", "empty")
    assert len(log()) == 5

    # Unsubscribe from the mail's link: GET asks, POST does it; a forged token is refused.
    link = re.search(r"(https?://\S+/unsubscribe/\S+)", mails["a1"].text)
    assert link, mails["a1"].text
    url = link.group(1)
    assert httpx.get(url, timeout=30).status_code == 200
    done = httpx.post(url, timeout=30, headers={"Accept-Language": "en"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    forged = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
    refused = httpx.post(forged, timeout=30)
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("text/html")
    recipients = {r["user_id"]: r for r in admin.get(f"/v1/report-subscriptions/{sub['id']}").json()["recipients"]}
    assert recipients[org.users["a1"]]["unsubscribed"] and not recipients[org.users["b1"]]["unsubscribed"]


def test_access_to_subscriptions(people: tuple[Org, TenantContext], platform: Platform,
                                 other_tenant: TenantContext) -> None:
    org, tenant = people
    mine = _subscribe(org.http["a1"], [org.users["a1"]], frequency="monthly", day_of_month=1)
    assert mine["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
    daily = _subscribe(org.http["a1"], [org.users["a1"]], frequency="daily", time_of_day="18:30")
    assert daily["rrule"] == "FREQ=DAILY;BYHOUR=18;BYMINUTE=30;BYSECOND=0"
    # Another rep: 404 everywhere; the admin (reports:manage) sees it.
    other = org.http["a2"]
    assert other.get(f"/v1/report-subscriptions/{mine['id']}").status_code == 404
    assert other.get(f"/v1/report-subscriptions/{mine['id']}/deliveries").status_code == 404
    assert other.delete(f"/v1/report-subscriptions/{mine['id']}").status_code == 404
    assert mine["id"] not in {s["id"] for s in other.get("/v1/report-subscriptions").json()["items"]}
    assert mine["id"] in {s["id"] for s in org.http["admin"].get("/v1/report-subscriptions").json()["items"]}
    with admin_http(other_tenant) as stranger:
        assert stranger.get(f"/v1/report-subscriptions/{mine['id']}").status_code == 404
        assert stranger.delete(f"/v1/report-subscriptions/{mine['id']}").status_code == 404
        # Recipients must be users of the caller's tenant.
        reply = stranger.post("/v1/report-subscriptions", json={
            "target": {"panels": PANELS}, "frequency": "daily", "recipient_ids": [org.users["a1"]]})
        assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "recipient_ids[0]"
    assert tenant.http(["customers:read"]).get("/v1/report-subscriptions").status_code == 403
    token = str(org.http["a1"].headers["authorization"]).removeprefix("Bearer ")
    for bad in (_with_claims(token, ds="all"), _identity_signed(platform, tenant.tenant_id, ttl=-120)):
        reply = httpx.get(f"{platform.gateway_url}/v1/report-subscriptions", headers={"Authorization": f"Bearer {bad}"})
        assert reply.status_code == 401
    # Bad input, each on its field.
    cases = [({"time_of_day": "25:00"}, "time_of_day"), ({"format": "docx"}, "format"),
             ({"recipient_ids": []}, "recipient_ids"), ({"recipient_ids": ["nobody"]}, "recipient_ids[0]"),
             ({"frequency": "hourly"}, "frequency"), ({"target": {"panels": ["nope"]}}, "target.panels[0]")]
    for change, field in cases:
        body = {"target": {"panels": PANELS}, "frequency": "weekly", "recipient_ids": [org.users["a1"]], **change}
        reply = org.http["a1"].post("/v1/report-subscriptions", json=body)
        assert reply.status_code == 400, reply.text
        assert field in {e["field"] for e in reply.json()["errors"]}, reply.text
    # The creator deletes it: its schedule goes with it.
    assert org.http["a1"].delete(f"/v1/report-subscriptions/{mine['id']}").status_code == 200
    assert org.http["a1"].get(f"/v1/report-subscriptions/{mine['id']}").status_code == 404


def test_a_saved_report_as_pdf_per_recipient(people: tuple[Org, TenantContext], platform: Platform) -> None:
    org, tenant = people
    admin = org.http["admin"]
    made = admin.post("/v1/reports", json={"name": "Statuses for all", "visibility": "tenant", "definition": {
        "object": "customers", "rows": [{"field": "status"}], "measures": [{"agg": "count"}], "chart": "bar"}})
    assert made.status_code in (200, 201), made.text
    sub = _subscribe(admin, [org.users["a1"], org.users["manager"]], target={"kind": "report", "id": made.json()["id"]},
                     format="pdf", title="")
    assert sub["title"] == "Statuses for all" and sub["format"] == "pdf"
    before = {w: len(DevMailbox(platform.mail_dir).list(to=_email(tenant, w))) for w in ("a1", "manager")}
    _make_due(platform, sub["id"])
    for w in ("a1", "manager"):
        mail = wait_for_mail(platform.mail_dir, _email(tenant, w), count=before[w] + 1, timeout=90)[-1]
        assert "Statuses for all" in mail.subject
        assert [a.filename.rsplit(".", 1)[-1] for a in mail.attachments] == ["pdf"]
        assert any(p.content_type == "image/svg+xml" for p in mail.inline)
        part = DevMailbox(platform.mail_dir).part(mail.key, mail.attachments[0].index)
        assert part is not None and part[2].startswith(b"%PDF")
        # The mail's table: the grand total is the recipient's own customers, not the creator's.
        rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td></tr>", mail.html)
        assert rows and int(rows[-1][1]) == len(_seen(org.http[w])), mail.html  # the last row: the grand total


def test_a_refused_mail_is_logged_as_failed(people: tuple[Org, TenantContext], platform: Platform) -> None:
    """The local SMTP server refuses recipients at refused.invalid with 550: the mailer gives up at
    once (a permanent refusal) and the log says failed, with the server's answer."""
    org, tenant = people
    admin = org.http["admin"]
    bounce = create_user(tenant, f"bounce-{tenant.slug}@refused.invalid", roles=["customer_service"])["id"]
    sub = _eventually_subscribe(admin, [bounce])
    _make_due(platform, sub["id"])

    def entry() -> tuple[str, str]:
        items = admin.get(f"/v1/report-subscriptions/{sub['id']}/deliveries").json()["items"]
        return (items[0]["status"], items[0]["reason"]) if items else ("", "")

    _eventually(lambda: entry()[0] == "failed", seconds=90)
    assert "550" in entry()[1]


def _eventually_subscribe(http: httpx.Client, recipients: list[str]) -> dict[str, Any]:
    """A user just made reaches reporting through identity's events: until then they are unknown."""
    found: dict[str, Any] = {}

    def attempt() -> bool:
        reply = http.post("/v1/report-subscriptions", json={
            "target": {"panels": PANELS}, "frequency": "daily", "recipient_ids": recipients})
        if reply.status_code == 201:
            found.update(reply.json())
        return reply.status_code == 201

    _eventually(attempt, seconds=60)
    return found


def test_two_replicas_fire_each_subscription_once(people: tuple[Org, TenantContext], platform: Platform) -> None:
    """Two more reporting schedulers (as two replicas would run, with reporting's own handler) race
    the running service's scheduler over its database for ten due subscriptions: each subscription's
    schedule fires once (its row's `fired_count`, counted by the scheduler itself, and the firings
    the two replicas' handlers saw), moves to the next week once, and delivers one mail."""
    from crm_platform.scheduler import Firing, Scheduler
    from crm_reporting.delivery.subscriptions import SCHEDULE_KIND, fire

    org, tenant = people
    admin = org.http["admin"]
    subs = [_subscribe(admin, [org.users["a2"]], title=f"Race {n}") for n in range(10)]
    keys = [f"sub:{s['id']}" for s in subs]
    before = len(DevMailbox(platform.mail_dir).list(to=_email(tenant, "a2")))
    seen: dict[str, list[str]] = {"first": [], "second": []}

    def recording(name: str) -> Any:
        async def handle(session: Any, firings: Any) -> None:
            seen[name] += [f.key for f in firings if isinstance(f, Firing)]
            await fire(session, firings)
        return handle

    async def race() -> list[Any]:
        engine = create_engine(platform.database_url("reporting"), pool_size=4)
        replicas = [Scheduler(engine, {SCHEDULE_KIND: recording(name)}, batch_size=1, concurrency=2,
                              poll_seconds=0.01, name=name) for name in seen]
        tasks = [asyncio.create_task(r.run()) for r in replicas]
        try:
            async with engine.begin() as conn:  # all due at once, while every scheduler polls
                changed = await conn.execute(sa.text(
                    "UPDATE control.schedules SET due_at = now() WHERE kind = :kind AND key = ANY(:keys)"),
                    {"kind": SCHEDULE_KIND, "keys": keys})
                assert changed.rowcount == len(keys)
            for _ in range(200):
                async with engine.connect() as conn:
                    rows = (await conn.execute(sa.text(
                        "SELECT key, fired_count, occurrence_at, due_at FROM control.schedules "
                        "WHERE kind = :kind AND key = ANY(:keys)"), {"kind": SCHEDULE_KIND, "keys": keys})).all()
                if all(r.fired_count >= 1 and r.due_at > datetime.now(UTC) for r in rows):
                    await asyncio.sleep(0.3)  # room for a second firing, if the claim let one through
                    async with engine.connect() as conn:
                        return list((await conn.execute(sa.text(
                            "SELECT key, fired_count, occurrence_at FROM control.schedules "
                            "WHERE kind = :kind AND key = ANY(:keys)"),
                            {"kind": SCHEDULE_KIND, "keys": keys})).all())
                await asyncio.sleep(0.05)
            raise AssertionError("the subscriptions did not fire")
        finally:
            for r in replicas:
                r.stop()
            await asyncio.gather(*tasks)
            await engine.dispose()

    rows = asyncio.run(race())
    assert sorted(r.key for r in rows) == sorted(keys)
    assert all(r.fired_count == 1 for r in rows), [(r.key, r.fired_count) for r in rows]
    # The replicas' handlers never saw one subscription twice (the service's own scheduler fired the rest).
    fired_here = seen["first"] + seen["second"]
    assert len(fired_here) == len(set(fired_here)) and set(fired_here) <= set(keys)
    # Each moved to its next occurrence once: the Monday 09:00 after this week's, not two weeks on.
    next_runs = {r.key: r.occurrence_at for r in rows}
    for sub in subs:
        assert next_runs[f"sub:{sub['id']}"] == datetime.fromisoformat(sub["next_run_at"].replace("Z", "+00:00")) \
            + timedelta(days=7)
    # One delivery and one mail per subscription.
    mails = wait_for_mail(platform.mail_dir, _email(tenant, "a2"), count=before + len(subs), timeout=120)
    assert len(mails) == before + len(subs)
    for sub in subs:
        log = admin.get(f"/v1/report-subscriptions/{sub['id']}/deliveries").json()["items"]
        assert len(log) == 1 and log[0]["recipient_id"] == org.users["a2"], log


def test_a_dashboard_as_pdf_per_recipient(people: tuple[Org, TenantContext], platform: Platform,
                                          tmp_path: Any) -> None:
    """A dashboard subscription with `format: pdf`: each recipient's panels as a PDF made by the
    report files' WeasyPrint page, computed under their own access (the manager's customer count,
    the rep's own; customer service's copy has no money panel)."""
    import shutil
    import subprocess

    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext is not installed; ./crm test installs poppler-utils")
    org, tenant = people
    admin = org.http["admin"]
    sub = _subscribe(admin, [org.users[w] for w in ("manager", "a1", "cs")], format="pdf", title="PDF panels")
    assert sub["format"] == "pdf"
    before = {w: len(DevMailbox(platform.mail_dir).list(to=_email(tenant, w))) for w in ("manager", "a1", "cs")}
    _make_due(platform, sub["id"])
    for w in ("manager", "a1", "cs"):
        mail = wait_for_mail(platform.mail_dir, _email(tenant, w), count=before[w] + 1, timeout=90)[-1]
        assert "PDF panels" in mail.subject
        assert [a.filename.rsplit(".", 1)[-1] for a in mail.attachments] == ["pdf"]
        part = DevMailbox(platform.mail_dir).part(mail.key, mail.attachments[0].index)
        assert part is not None and part[2].startswith(b"%PDF")
        path = tmp_path / f"{w}.pdf"
        path.write_bytes(part[2])
        text = subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, check=True,
                              text=True).stdout
        # In the recipient's language (en or zh-CN), with page numbers.
        assert "PDF panels" in text and re.search(r"Page 1 of|第 1 页", text), text
        # The key figures' first row: this recipient's own customer count.
        customers = re.search(r"(?:Customers|客户)\s+(\d+)", text)
        assert customers and int(customers.group(1)) == len(_seen(org.http[w])), (w, text)
        top = re.search(r"Top customers by value|高价值客户排行", text)
        if w == "cs":  # no money panel for customer service
            assert top is None and "CNY" not in text, text
        else:
            assert top is not None and "CNY" in text, text


def test_a_recipient_reporting_has_not_seen_access_for_gets_the_first_delivery(
        people: tuple[Org, TenantContext], platform: Platform, other_tenant: TenantContext) -> None:
    """Reporting's projection of b1 lacks their access (as for a user not changed since identity's
    events began to carry it): the delivery asks identity (`GetUserAccess`, with reporting's
    service token) and b1 gets their own figures instead of being skipped as `no_access`. Service
    tokens: a wrong credential is refused, a service token reads only its own tenant's users, and
    a user's token may not ask."""
    import grpc

    from crm_platform.grpc_client import call_metadata, channel
    from crm_platform.ids import tenant_schema
    from crm_platform.service_tokens import ServiceTokens, service_credential
    from crm_proto.crm.identity.v1 import identity_pb2, identity_pb2_grpc

    org, tenant = people
    admin = org.http["admin"]
    sub = _subscribe(admin, [org.users["b1"]], title="First delivery")

    async def forget_access() -> None:
        engine = create_engine(platform.database_url("reporting"), pool_size=1)
        try:
            async with engine.begin() as conn:
                changed = await conn.execute(sa.text(
                    f"UPDATE {tenant_schema(tenant.tenant_id)}.user_teams SET access_known = false, "
                    "access_scopes = '[]', data_scope = 'own', field_policies = '{}' WHERE user_id = :user"),
                    {"user": org.users["b1"]})
                assert changed.rowcount == 1
        finally:
            await engine.dispose()

    asyncio.run(forget_access())
    before = len(DevMailbox(platform.mail_dir).list(to=_email(tenant, "b1")))
    _make_due(platform, sub["id"])
    mail = wait_for_mail(platform.mail_dir, _email(tenant, "b1"), count=before + 1, timeout=90)[-1]
    assert "First delivery" in mail.subject
    kpis = _workbook(platform, mail)[0]
    assert kpis[0][1] == len(_seen(org.http["b1"]))  # b1's own customers, by identity's answer
    _eventually(lambda: [(d["status"], d["reason"]) for d in admin.get(
        f"/v1/report-subscriptions/{sub['id']}/deliveries").json()["items"]] == [("sent", "")], seconds=30)

    async def service_tokens() -> None:
        key = platform.secrets["page_token_key"]
        stub = identity_pb2_grpc.IdentityServiceStub(channel(platform.addr("identity")))
        tokens = ServiceTokens(platform.addr("identity"), "reporting", key)
        token = await tokens.token(uuid.UUID(str(tenant.tenant_id)))
        found = await stub.GetUserAccess(identity_pb2.GetUserAccessRequest(user_id=org.users["b1"]),
                                         metadata=call_metadata(token))
        assert "reports:read" in found.scopes and found.data_scope == "own" and found.email == _email(tenant, "b1")
        # Another tenant's service token does not find this tenant's user.
        stranger = await tokens.token(uuid.UUID(str(other_tenant.tenant_id)))
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetUserAccess(identity_pb2.GetUserAccessRequest(user_id=org.users["b1"]),
                                     metadata=call_metadata(stranger))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        # A user's own token lacks system:access.
        user_token = str(org.http["admin"].headers["authorization"]).removeprefix("Bearer ")
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.GetUserAccess(identity_pb2.GetUserAccessRequest(user_id=org.users["b1"]),
                                     metadata=call_metadata(user_token))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # A wrong credential, or a service that may not have tokens, gets none.
        for service, credential in (("reporting", service_credential("not the key", "reporting")),
                                    ("webhooks", service_credential(key, "webhooks"))):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.IssueServiceToken(identity_pb2.IssueServiceTokenRequest(
                    service=service, credential=credential, tenant_id=str(tenant.tenant_id)))
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

    asyncio.run(service_tokens())
