"""Customer erasure (right to be forgotten) end to end over the real processes: a customer with tags,
follow-up tasks, reporting rows and webhook deliveries is erased; afterwards no row in any
service's tenant schema nor in ClickHouse mentions its id (except the tombstone and the erasure
event itself), subscribers got `crm.customer.erased`, undelivered deliveries were cancelled, and
late writes about the id are refused. docs/customers.md, "Erasure"."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psycopg
import pytest

from crm_dev.operator import operator_token
from crm_dev.platform import Platform
from crm_platform.grpc_client import call_metadata, channel
from crm_platform.ids import tenant_schema
from crm_proto.crm.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc
from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_login_security import admin_http, create_user
from tests.e2e.test_roles_teams import created

SERVICES = ("customers", "tagging", "followups", "reporting", "webhooks", "identity")
ERASED = "crm.customer.erased"


class HoldingReceiver:
    """Accepts connections but answers nothing until released: its deliveries stay pending."""

    def __init__(self) -> None:
        release = self.release = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                release.wait(30)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/held"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _db(platform: Platform, service: str) -> psycopg.Connection[tuple[Any, ...]]:
    url = platform.database_url(service).replace("+asyncpg", "").replace("+psycopg", "")
    return psycopg.connect(url, autocommit=True)


def postgres_mentions(platform: Platform, tenant_id: str, needle: str) -> dict[str, list[str]]:
    """Every row of every table of the tenant's schema, in every service database, whose text
    contains `needle`: {"service.table": [row text, ...]}."""
    schema = tenant_schema(tenant_id)
    found: dict[str, list[str]] = {}
    for service in SERVICES:
        with _db(platform, service) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_type = 'BASE TABLE'", (schema,),
            )]
            for table in tables:
                rows = conn.execute(
                    f'SELECT t::text FROM "{schema}"."{table}" t WHERE strpos(t::text, %s) > 0', (needle,)
                ).fetchall()
                if rows:
                    found[f"{service}.{table}"] = [r[0] for r in rows]
    return found


def clickhouse_rows(platform: Platform, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every ClickHouse row of the tenant, read by the reporting process through the tenant-safe
    builder (TenancyService.ListTenantData / ExportTenant, the offboarding export)."""

    async def read() -> dict[str, list[dict[str, Any]]]:
        token = await operator_token(platform, uuid.UUID(tenant_id))
        tables: dict[str, list[dict[str, Any]]] = {}
        async with channel(platform.addr("reporting")) as ch:
            stub = tenancy_pb2_grpc.TenancyServiceStub(ch)
            listed = await stub.ListTenantData(tenancy_pb2.ListTenantDataRequest(tenant_id=tenant_id),
                                               metadata=call_metadata(token), timeout=30)
            for table in listed.tables:
                if not table.name.startswith("clickhouse."):
                    continue
                rows: list[dict[str, Any]] = []
                offset = 0
                while True:
                    page = await stub.ExportTenant(
                        tenancy_pb2.ExportTenantRequest(tenant_id=tenant_id, table=table.name, offset=offset,
                                                        page_size=1000),
                        metadata=call_metadata(token), timeout=30,
                    )
                    rows += [json.loads(r) for r in page.rows]
                    if page.done:
                        break
                    offset = page.next_offset
                tables[table.name] = rows
        return tables

    return asyncio.run(read())


def _deliveries(platform: Platform, tenant_id: str, endpoint_id: str) -> list[tuple[str, str, Any, Any]]:
    with _db(platform, "webhooks") as conn:
        return conn.execute(
            f'SELECT event_type, status, payload, payload_purged_at FROM "{tenant_schema(tenant_id)}".deliveries '
            "WHERE endpoint_id = %s ORDER BY id", (endpoint_id,),
        ).fetchall()


@pytest.fixture
def receiver() -> Any:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def held() -> Any:
    r = HoldingReceiver()
    yield r
    r.close()


def test_erase_removes_the_customer_from_every_service(
    platform: Platform, tenant: TenantContext, receiver: Receiver, held: HoldingReceiver
) -> None:
    admin = admin_http(tenant)
    assert admin.post("/v1/webhook-endpoints", json={"url": receiver.url}).status_code == 201
    held_endpoint = created(admin.post("/v1/webhook-endpoints", json={"url": held.url}))
    tag = created(admin.post("/v1/tags", json={"name": "制造"}))
    created(admin.post("/v1/tag-rules", json={"tag_id": tag["id"], "field": "industry", "operator": "equals",
                                              "value": "制造业"}))
    created(admin.post("/v1/cadence-rules", json={"tag_id": tag["id"], "due_in_days": 3, "title": "回访"}))
    gone = created(admin.post("/v1/customers", json={
        "name": "被遗忘的公司", "industry": "制造业", "mobile": "13800138021", "email": "forget.me@example.com",
        "resident_id": "11010519491231002X", "annual_revenue": "880000.00",
    }))
    kept = created(admin.post("/v1/customers", json={"name": "留下的公司", "industry": "制造业",
                                                     "mobile": "13800138022"}))
    created(admin.post("/v1/followup-tasks", json={"customer_id": gone["id"], "title": "电话回访",
                                                   "due_at": "2030-01-01T08:00:00Z"}))
    order = admin.post("/v1/orders", json={"external_id": "ERP-4711", "customer_id": gone["id"], "amount": "1200.00",
                                          "currency": "CNY", "ordered_on": "2026-11-01", "status": "paid"})
    assert order.status_code == 201, order.text
    changed = admin.post(f"/v1/customers/{gone['id']}:change-status", json={"status": "intent", "reason": "有意向"})
    assert changed.status_code == 200, changed.text

    def settled() -> bool:
        tasks = admin.get("/v1/followup-tasks", params={"customer_id": gone["id"]}).json()["items"]
        tags = admin.get(f"/v1/customers/{gone['id']}/tags")
        report = admin.get("/v1/reports/customers-by-industry").json()["rows"]
        return (len(tasks) == 2 and tags.status_code == 200 and len(tags.json()["items"]) == 1
                and {r["industry"]: r["customers"] for r in report} == {"制造业": 2}
                and any(d.event["subject"] == gone["id"] for d in receiver.of_type("crm.customer.updated")))

    wait_for(settled, timeout=60)
    before = postgres_mentions(platform, tenant.tenant_id, gone["id"])
    assert {"customers.customers", "customers.status_history", "customers.orders", "tagging.customer_tags",
            "followups.tasks", "webhooks.deliveries"} <= set(before), before
    assert any(gone["id"] in json.dumps(rows) for rows in clickhouse_rows(platform, tenant.tenant_id).values())
    pending_before = [d for d in _deliveries(platform, tenant.tenant_id, held_endpoint["id"]) if d[1] == "pending"]
    assert pending_before, "the held endpoint's deliveries should be waiting"

    erased = admin.post(f"/v1/customers/{gone['id']}:erase",
                        json={"confirm": gone["code"], "reason": "本人依《个人信息保护法》第47条申请删除"})
    assert erased.status_code == 200, erased.text
    tombstone = erased.json()
    assert tombstone["customer_id"] == gone["id"]
    assert tombstone["erased_at"] and tombstone["erased_by"]

    # At once in customers: 404 `customer_erased`, for reads and writes alike.
    for reply in (admin.get(f"/v1/customers/{gone['id']}"),
                  admin.patch(f"/v1/customers/{gone['id']}", json={"notes": "x"}, headers={"If-Match": 'W/"2"'}),
                  admin.post(f"/v1/customers/{gone['id']}:erase", json={"confirm": gone["code"], "reason": "again"})):
        assert reply.status_code == 404, reply.text
        assert reply.json()["code"] == "customer_erased"
    assert gone["id"] not in {c["id"] for c in admin.get("/v1/customers", params={"page_size": 500}).json()["items"]}

    # Then in every other service. What may still name the id: the tombstone, and the erasure
    # event as delivered to webhook subscribers (its data is the id alone).
    left: dict[str, list[str]] = {}

    def only_erasure_records_left() -> bool:
        left.clear()
        left.update(postgres_mentions(platform, tenant.tenant_id, gone["id"]))
        left.pop("customers.customer_erasures", None)
        deliveries = [row for row in left.pop("webhooks.deliveries", []) if ERASED not in row]
        if deliveries:
            left["webhooks.deliveries"] = deliveries
        return not left

    try:
        wait_for(only_erasure_records_left, timeout=60)
    except AssertionError:
        raise AssertionError(f"rows still naming the erased customer: {left}") from None
    with _db(platform, "customers") as conn:
        stone = conn.execute(
            f'SELECT t::text FROM "{tenant_schema(tenant.tenant_id)}".customer_erasures t').fetchall()
        assert len(stone) == 1 and "forget.me" not in stone[0][0] and "被遗忘" not in stone[0][0]
        # The customers service's published events about it are gone too (they carried the record).
        outbox = conn.execute("SELECT payload->>'type' FROM control.outbox WHERE payload->>'subject' = %s",
                              (gone["id"],)).fetchall()
        assert [r[0] for r in outbox] == [ERASED]

    def clickhouse_clean() -> bool:
        tables = clickhouse_rows(platform, tenant.tenant_id)
        mentions = [row for rows in tables.values() for row in rows
                    if gone["id"] in json.dumps(row, ensure_ascii=False) and row.get("type") != ERASED]
        return not mentions and any(str(r.get("customer_id")) == kept["id"] for r in tables["clickhouse.customers"])

    wait_for(clickhouse_clean, timeout=60)

    # Subscribers were told, with nothing but the id.
    told = wait_for(lambda: receiver.of_type(ERASED), timeout=30)
    assert told[0].event["data"] == {"customer_id": gone["id"]}
    assert told[0].event["subject"] == gone["id"]
    # Deliveries that had not gone out were cancelled and emptied; none is retried after release.
    held_rows = _deliveries(platform, tenant.tenant_id, held_endpoint["id"])
    about_gone = [d for d in held_rows if d[0] != ERASED and d[3] is not None]
    assert about_gone and all(d[1] == "cancelled" and d[2] == {} for d in about_gone), held_rows
    held.release.set()

    # The other customer is untouched everywhere.
    assert admin.get(f"/v1/customers/{kept['id']}").status_code == 200
    assert len(admin.get(f"/v1/customers/{kept['id']}/tags").json()["items"]) == 1
    assert {r["industry"]: r["customers"] for r in admin.get("/v1/reports/customers-by-industry").json()["rows"]} \
        == {"制造业": 1}

    # Late writes about the erased id create nothing.
    late = admin.post("/v1/followup-tasks", json={"customer_id": gone["id"], "title": "再次回访",
                                                  "due_at": "2030-01-02T08:00:00Z"})
    assert late.status_code == 400, late.text
    assert late.json()["errors"][0]["code"] == "customer_erased"


def test_erase_a_soft_deleted_customer(tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    customer = created(admin.post("/v1/customers", json={"name": "已删除的客户", "mobile": "13800138031"}))
    deleted = admin.delete(f"/v1/customers/{customer['id']}", headers={"If-Match": 'W/"1"'})
    assert deleted.status_code == 200, deleted.text
    erased = admin.post(f"/v1/customers/{customer['id']}:erase",
                        json={"confirm": "已删除的客户", "reason": "duplicate"})
    assert erased.status_code == 200, erased.text
    reply = admin.get(f"/v1/customers/{customer['id']}", params={"show_deleted": "true"})
    assert reply.status_code == 404 and reply.json()["code"] == "customer_erased"


def test_erase_refuses_bad_input_without_deleting_anything(tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    customer = created(admin.post("/v1/customers", json={"name": "确认测试", "mobile": "13800138041"}))
    path = f"/v1/customers/{customer['id']}:erase"
    wrong = admin.post(path, json={"confirm": "别的名字", "reason": ""}, headers={"Accept-Language": "zh-CN"})
    assert wrong.status_code == 400, wrong.text
    problem = wrong.json()
    assert problem["code"] == "invalid_input"
    assert {(e["field"], e["code"]) for e in problem["errors"]} == {("confirm", "confirm_mismatch"),
                                                                    ("reason", "required")}
    assert "编号或名称" in next(e["message"] for e in problem["errors"] if e["field"] == "confirm")
    missing = admin.post(path, json={"reason": "x"})
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "confirm"
    unknown = admin.post(path, json={"confirm": customer["code"], "reason": "x", "force": True})
    assert unknown.status_code == 400
    assert admin.get(f"/v1/customers/{customer['id']}").status_code == 200
    # The code matches whatever its case; the name must match as written.
    assert admin.post(path, json={"confirm": customer["code"].lower(), "reason": "test"}).status_code == 200


def test_erase_isolation_and_authorisation(
    platform: Platform, tenant: TenantContext, other_tenant: TenantContext
) -> None:
    admin = admin_http(tenant)
    # A custom role that may erase, limited to its own customers.
    role = created(admin.post("/v1/roles", json={
        "name": "Own eraser", "scopes": ["customers:read", "customers:write", "customers:delete"], "data_scope": "own",
    }))
    email = f"eraser@{tenant.slug}.example.com"
    create_user(tenant, email, roles=[role["id"]])
    eraser = httpx.Client(base_url=platform.gateway_url, timeout=30,
                          headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
    theirs = created(admin.post("/v1/customers", json={"name": "管理员的客户", "mobile": "13800138051"}))
    mine = created(eraser.post("/v1/customers", json={"name": "我的客户", "mobile": "13800138052"}))
    body = {"confirm": theirs["code"], "reason": "test"}

    # Another tenant (its admin holds customers:delete): 404, as for any id it does not hold.
    other_admin = admin_http(other_tenant).post(f"/v1/customers/{theirs['id']}:erase", json=body)
    assert other_admin.status_code == 404 and other_admin.json()["code"] == "not_found"
    # Outside the caller's data scope: 404.
    out_of_scope = eraser.post(f"/v1/customers/{theirs['id']}:erase", json=body)
    assert out_of_scope.status_code == 404 and out_of_scope.json()["code"] == "not_found"
    # Without customers:delete (a client with every other scope; a sales rep): 403.
    no_scope = tenant.http().post(f"/v1/customers/{theirs['id']}:erase", json=body)
    assert no_scope.status_code == 403, no_scope.text
    assert "customers:delete" in no_scope.json()["missing_scopes"]
    # A malformed id is simply not found.
    assert admin.post("/v1/customers/not-an-id:erase", json=body).status_code == 404
    assert admin.get(f"/v1/customers/{theirs['id']}").status_code == 200

    # Within scope it works.
    done = eraser.post(f"/v1/customers/{mine['id']}:erase", json={"confirm": "我的客户", "reason": "客户要求"})
    assert done.status_code == 200, done.text
    assert admin.get(f"/v1/customers/{mine['id']}").json()["code"] == "customer_erased"
