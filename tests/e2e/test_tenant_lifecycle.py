"""Tenant lifecycle as an operator drives it with the `crm tenant` CLI: suspend (every token of the
tenant stops working at once, in every service), resume, and offboard (export, then erase)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc
import httpx
import nats
import nats.js.errors
import psycopg
import pytest

from crm_dev.api_client import ApiClient
from crm_dev.operator import operator_name, operator_token
from crm_dev.platform import Platform
from crm_platform.grpc_client import call_metadata, channel
from crm_platform.ids import tenant_schema
from crm_proto.crm.identity.v1 import identity_pb2, identity_pb2_grpc
from crm_proto.crm.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc
from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver

# One endpoint per service the token reaches (customers, tagging, followups, reporting, webhooks);
# identity's (the tenant's password policy) needs an admin's user token.
IDENTITY_ENDPOINT = "/v1/tenant/password-policy"
ENDPOINTS = (
    "/v1/customers",
    "/v1/tags",
    "/v1/followup-tasks",
    "/v1/reports/customers-by-industry",
    "/v1/webhook-endpoints",
)
# "At once": identity's event reaches every service's tenancy consumer within this bound.
SUSPENSION_BOUND = 10.0


def crm(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm_dev", *args, "--data-dir", str(platform.data_dir)],
        capture_output=True, text=True, timeout=60,
    )


def statuses(http: httpx.Client) -> dict[str, int]:
    return {path: http.get(path).status_code for path in ENDPOINTS}


def test_suspend_stops_every_token_at_once_and_resume_restores(
    platform: Platform, api: ApiClient, other_tenant: TenantContext
) -> None:
    slug = f"t-{secrets.token_hex(5)}"
    signed = api.signup(slug)
    tenant = TenantContext(api, slug, signed.id, api.login_code_flow(slug, signed.admin_email, signed.admin_password)[
        "access_token"])
    http = tenant.http()
    admin = httpx.Client(base_url=platform.gateway_url, headers={"Authorization": f"Bearer {tenant.admin_token}"})
    other = other_tenant.http()
    assert set(statuses(http).values()) == {200}, statuses(http)
    assert admin.get(IDENTITY_ENDPOINT).status_code == 200
    client = tenant.api.create_api_client(tenant.admin_token, "lifecycle", ["customers:read"])

    done = crm(platform, "tenant", "suspend", "--tenant", tenant.slug, "--reason", "unpaid invoices")
    assert done.returncode == 0, done.stderr
    assert "suspended" in done.stdout

    started = time.monotonic()
    # The same, still unexpired tokens (client credentials and a user's) get 401 from every service.
    wait_for(lambda: set(statuses(http).values()) == {401}, timeout=SUSPENSION_BOUND)
    assert time.monotonic() - started < SUSPENSION_BOUND
    for path in (IDENTITY_ENDPOINT, *ENDPOINTS):
        reply = admin.get(path, headers={"Accept-Language": "en"})
        assert reply.status_code == 401, (path, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert reply.json()["code"] == "tenant_suspended", (path, reply.json())
    zh = http.get("/v1/customers", headers={"Accept-Language": "zh-CN"}).json()
    assert zh["title"] == "租户已停用"
    # Writes too.
    assert http.post("/v1/customers", json={"name": "x", "mobile": "13700137000"}).status_code == 401
    # Identity issues no new tokens: client credentials, nor a sign-in.
    refused = httpx.post(
        f"{platform.gateway_url}/oauth/token", data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert refused.status_code in (400, 401), refused.text
    assert "access_token" not in refused.text
    with pytest.raises(RuntimeError, match="login failed"):
        api.login_code_flow(slug, signed.admin_email, signed.admin_password)
    # Another tenant is not affected.
    assert set(statuses(other).values()) == {200}

    # Suspending twice is harmless.
    again = crm(platform, "tenant", "suspend", "--tenant", tenant.slug)
    assert again.returncode == 0, again.stderr

    resumed = crm(platform, "tenant", "resume", "--tenant", tenant.slug)
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: set(statuses(http).values()) == {200}, timeout=SUSPENSION_BOUND)
    assert admin.get(IDENTITY_ENDPOINT).status_code == 200
    assert tenant.api.client_credentials(client["client_id"], client["client_secret"])
    assert api.login_code_flow(slug, signed.admin_email, signed.admin_password)["access_token"]


def test_cli_names_an_unknown_tenant(platform: Platform) -> None:
    done = crm(platform, "tenant", "suspend", "--tenant", "no-such-company")
    assert done.returncode == 1
    assert "no tenant" in done.stderr


def _set_status(platform: Platform, token: str, status: str) -> grpc.StatusCode | None:
    async def call() -> grpc.StatusCode | None:
        async with channel(platform.addr("identity")) as ch:
            stub = identity_pb2_grpc.IdentityServiceStub(ch)
            try:
                await stub.SetTenantStatus(
                    identity_pb2.SetTenantStatusRequest(status=status), metadata=call_metadata(token), timeout=10
                )
            except grpc.aio.AioRpcError as exc:
                return exc.code()
            return None

    return asyncio.run(call())


def test_set_tenant_status_needs_the_operator_scope(platform: Platform, tenant: TenantContext) -> None:
    # A tenant's own token, even its admin's, cannot suspend or resume (no `system:tenants`).
    assert _set_status(platform, tenant.admin_token, "suspended") == grpc.StatusCode.PERMISSION_DENIED
    assert _set_status(platform, "forged.token.value", "suspended") == grpc.StatusCode.UNAUTHENTICATED
    # Tenant admins cannot grant themselves the system scope through an API client either.
    reply = httpx.post(
        f"{platform.gateway_url}/v1/api-clients", json={"name": "sneaky", "scopes": ["system:tenants"]},
        headers={"Authorization": f"Bearer {tenant.admin_token}"},
    )
    assert reply.status_code == 400, reply.text
    operator = asyncio.run(operator_token(platform, uuid.UUID(tenant.tenant_id)))
    assert _set_status(platform, operator, "frozen") == grpc.StatusCode.INVALID_ARGUMENT
    assert tenant.http().get("/v1/customers").status_code == 200


def _db(platform: Platform, service: str) -> psycopg.Connection[tuple[object, ...]]:
    url = platform.database_url(service).replace("+asyncpg", "").replace("+psycopg", "")
    return psycopg.connect(url, autocommit=True)


def _tenant_rows_left(platform: Platform, service: str, tenant_id: str) -> dict[str, object]:
    schema = tenant_schema(tenant_id)
    with _db(platform, service) as conn:
        left: dict[str, object] = {
            "schema": conn.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,))
            .fetchone(),
        }
        for table in ("tenants", "outbox", "inbox", "jobs"):
            count = conn.execute(f"SELECT count(*) FROM control.{table} WHERE tenant_id = %s", (tenant_id,)).fetchone()
            left[table] = count[0] if count else None
        erased = conn.execute("SELECT 1 FROM control.erased_tenants WHERE tenant_id = %s", (tenant_id,)).fetchone()
        left["recorded_as_erased"] = erased is not None
    return left


def _erase_again(platform: Platform, service: str, tenant_id: str) -> tenancy_pb2.EraseTenantResponse:
    async def call() -> tenancy_pb2.EraseTenantResponse:
        token = await operator_token(platform, uuid.UUID(tenant_id))
        async with channel(platform.addr(service)) as ch:
            reply: tenancy_pb2.EraseTenantResponse = await tenancy_pb2_grpc.TenancyServiceStub(ch).EraseTenant(
                tenancy_pb2.EraseTenantRequest(tenant_id=tenant_id), metadata=call_metadata(token), timeout=30
            )
            return reply

    return asyncio.run(call())


def _idempotency_keys(platform: Platform, tenant_id: str) -> list[str]:
    """Keys of the tenant's records in the gateway's Idempotency-Key bucket."""

    async def read() -> list[str]:
        nc = await nats.connect(platform.nats.url)
        try:
            kv = await nc.jetstream().key_value("crm_idempotency")
            try:
                # nats-py filters keys by substring, not by subject wildcard.
                prefix = f"{uuid.UUID(tenant_id).hex}."
                return [k for k in await kv.keys(filters=[prefix]) if k.startswith(prefix)]
            except nats.js.errors.NoKeysError:
                return []
        finally:
            await nc.close()

    return asyncio.run(read())


def test_offboard_exports_everything_then_erases_it_everywhere(
    platform: Platform, tenant: TenantContext, other_tenant: TenantContext, tmp_path: Path
) -> None:
    receiver = Receiver()
    http = tenant.http()
    try:
        assert http.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": []}).status_code == 201
        tag_id = http.post("/v1/tags", json={"name": "制造"}).json()["id"]
        rule = {"tag_id": tag_id, "field": "industry", "operator": "equals", "value": "制造业"}
        assert http.post("/v1/tag-rules", json=rule).status_code == 201
        cadence = {"tag_id": tag_id, "due_in_days": 1, "title": "回访"}
        assert http.post("/v1/cadence-rules", json=cadence).status_code == 201
        for index in range(3):
            reply = http.post("/v1/customers", json={"name": f"精工制造{index}", "industry": "制造业",
                                                    "mobile": f"1580000200{index}"},
                              headers={"Idempotency-Key": f"offboard-{index}"})
            assert reply.status_code == 201, reply.text
        other_http = other_tenant.http()
        assert other_http.post("/v1/customers", json={"name": "留下的公司", "industry": "零售",
                                                      "mobile": "13900139000"},
                               headers={"Idempotency-Key": "offboard-0"}).status_code == 201
        assert len(_idempotency_keys(platform, tenant.tenant_id)) == 3

        def settled() -> bool:
            rows = http.get("/v1/reports/customers-by-industry").json()["rows"]
            tasks = http.get("/v1/followup-tasks").json()["items"]
            other_rows = other_http.get("/v1/reports/customers-by-industry").json()["rows"]
            return ({r["industry"]: r["customers"] for r in rows} == {"制造业": 3} and len(tasks) == 3
                    and bool(other_rows) and len(receiver.of_type("crm.customer.created")) >= 3)

        wait_for(settled, timeout=60)
    finally:
        receiver.close()

    export = tmp_path / "export"
    done = crm(platform, "tenant", "offboard", "--tenant", tenant.slug, "--export-to", str(export))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "offboarded" in done.stdout

    # The export: one JSON-lines file per table, counted and hashed in the manifest.
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["format"] == "crm-tenant-export/1"
    assert manifest["tenant"] == {"id": tenant.tenant_id, "slug": tenant.slug}
    files = {(f["service"], f["table"]): f for f in manifest["files"]}
    for entry in manifest["files"]:
        data = (export / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data.splitlines()) == entry["rows"]

    def rows(service: str, table: str) -> list[dict[str, object]]:
        path = export / files[(service, table)]["path"]
        return [json.loads(line) for line in path.read_text().splitlines()]

    assert sorted(str(c["name"]) for c in rows("customers", "customers")) == ["精工制造0", "精工制造1", "精工制造2"]
    assert files[("customers", "customers")]["rows"] == 3
    assert [t["name"] for t in rows("tagging", "tags")] == ["制造"]
    assert files[("tagging", "customer_tags")]["rows"] == 3
    assert files[("followups", "tasks")]["rows"] == 3
    assert [e["url"] for e in rows("webhooks", "endpoints")] == [receiver.url]
    assert files[("webhooks", "deliveries")]["rows"] >= 3
    assert {c["customer_id"] for c in rows("reporting", "clickhouse.customers")} == {
        c["id"] for c in rows("customers", "customers")
    }
    assert files[("reporting", "clickhouse.events")]["rows"] >= 3
    users = rows("identity", "users")
    assert [u["email"] for u in users] == [f"admin@{tenant.slug}.example.com"]
    assert not any(k.startswith("password") or k.endswith("_sealed") for u in users for k in u), users[0].keys()

    # Erased everywhere: no schema, no control rows, the id remembered as erased.
    for service in ("identity", "customers", "tagging", "followups", "reporting", "webhooks"):
        left = _tenant_rows_left(platform, service, tenant.tenant_id)
        assert left == {"schema": None, "tenants": 0, "outbox": 0, "inbox": 0, "jobs": 0,
                        "recorded_as_erased": True}, (service, left)
    # The gateway's Idempotency-Key records (response bodies) went too; the other tenant's stay.
    assert _idempotency_keys(platform, tenant.tenant_id) == []
    assert len(_idempotency_keys(platform, other_tenant.tenant_id)) == 1
    # ClickHouse: erasing again finds nothing left to delete (the first erase deleted the rows).
    again = _erase_again(platform, "reporting", tenant.tenant_id)
    assert dict(again.deleted)["clickhouse.customers"] == 0
    assert dict(again.deleted)["clickhouse.events"] == 0
    assert not again.schema_dropped
    with _db(platform, "identity") as conn:
        job = conn.execute(
            "SELECT status, result FROM control.jobs WHERE kind = 'tenant.offboard'"
            " AND payload->>'tenant_id' = %s",
            (tenant.tenant_id,),
        ).fetchone()
    assert job is not None and job[0] == "succeeded"
    assert job[1]["erased"]["reporting"]["deleted"]["clickhouse.customers"] >= 3
    # The operator's audit record outlives the tenant's own log: who ran it, when it started and ended.
    assert job[1]["runs"][0]["by"] == operator_name() and job[1]["runs"][0]["started_at"]
    assert job[1]["finished_at"] >= job[1]["runs"][0]["started_at"]

    # Running it again is harmless; the tenant's remaining tokens are refused; its slug is never reused.
    rerun = crm(platform, "tenant", "offboard", "--tenant", tenant.slug, "--export-to", str(export))
    assert rerun.returncode == 0, rerun.stderr
    refused = http.get("/v1/customers")
    assert refused.status_code == 401
    assert refused.json()["code"] in ("tenant_offboarded", "tenant_suspended")
    taken = httpx.post(f"{platform.gateway_url}/v1/signup", json={
        "company_name": "Again", "slug": tenant.slug, "admin_email": "a@example.com",
        "admin_password": "demo-password-1", "admin_name": "A", "locale": "en",
    })
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "slug_taken"
    assert crm(platform, "tenant", "resume", "--tenant", tenant.slug).returncode == 1

    # The other tenant keeps all of its data.
    assert [c["name"] for c in other_http.get("/v1/customers").json()["items"]] == ["留下的公司"]
    other_rows = other_http.get("/v1/reports/customers-by-industry").json()["rows"]
    assert {r["industry"]: r["customers"] for r in other_rows} == {"零售": 1}
