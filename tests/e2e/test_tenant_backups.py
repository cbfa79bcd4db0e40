"""A tenant admin's backups (docs/tenancy.md#backups-for-the-tenant-admin) and `crm tenant restore`
(docs/tenancy.md#restore-into-a-new-tenant), against the real processes: the job's progress, the
archive's content (customers with codes, orders, tags and assignments, follow-up tasks and records,
the audit log; sensitive fields as ciphertext, no credentials, nothing of another tenant), who may
take and download one (admins only: a rep and a token without `tenant:backup` get 403, another
tenant's backup is 404, a forged or expired token 401), cancel and resume, and the round trip:
back up tenant A through the API, restore the archive as a new tenant B, compare through the API."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import ALL_SCOPES, TenantContext, wait_for
from tests.e2e.oauth_flows import identity_keyring_token
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_customers_sensitive import ID as RESIDENT_ID
from tests.e2e.test_login_security import admin_email, admin_http, create_user, forged_token
from tests.e2e.test_tenant_lifecycle import crm

BACKUPS = "/v1/tenant/backups"


def _populate(http: httpx.Client) -> dict[str, Any]:
    """Customers (one with a sensitive field), an order, tags and an assignment, a task, a record."""
    tag = http.post("/v1/tags", json={"name": "重点客户"}).json()
    customers = [http.post("/v1/customers", json={"name": f"备份测试{i}有限公司", "mobile": f"1580000400{i}",
                                                  **({"resident_id": RESIDENT_ID} if i == 0 else {})}).json()
                 for i in range(3)]
    assert all("id" in c for c in customers), customers
    assert http.post(f"/v1/customers/{customers[0]['id']}/tags", json={"tag_id": tag["id"]}).status_code in (200, 201)
    order = http.post("/v1/orders", json={"external_id": "ERP-B1", "customer_id": customers[0]["id"],
                                          "amount": "1200.50", "currency": "CNY", "ordered_on": "2026-01-05",
                                          "status": "paid"})
    assert order.status_code in (200, 201), order.text
    task = http.post("/v1/followup-tasks", json={"customer_id": customers[1]["id"], "title": "回访",
                                                 "due_at": "2030-01-01T09:00:00+08:00"})
    assert task.status_code == 201, task.text
    record = http.post("/v1/followup-records", json={"customer_id": customers[2]["id"], "method": "phone",
                                                     "content": "谈了续约", "result": "needs_followup"})
    assert record.status_code == 201, record.text
    wait_for(lambda: len(http.get(f"/v1/customers/{customers[0]['id']}/orders").json().get("items", [])) == 1)
    return {"tag": tag, "customers": customers, "order": order.json(), "task": task.json(),
            "record": record.json()}


def _finished(http: httpx.Client, backup_id: str, timeout: float = 90) -> dict[str, Any]:
    seen: list[int] = []

    def done() -> dict[str, Any] | None:
        reply = http.get(f"{BACKUPS}/{backup_id}")
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        seen.append(body["percent"])
        return body if body["status"] in ("succeeded", "failed") else None

    body: dict[str, Any] = wait_for(done, timeout=timeout)
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    return body


def _take_backup(http: httpx.Client) -> tuple[dict[str, Any], bytes]:
    started = http.post(BACKUPS)
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == f"{BACKUPS}/{started.json()['id']}"
    body = _finished(http, started.json()["id"])
    assert body["status"] == "succeeded", body
    assert body["percent"] == 100 and body["progress_done"] == body["progress_total"] == body["rows"] > 0
    assert body["download_url"] == f"{BACKUPS}/{body['id']}/archive" and body["expires_at"]
    archive = http.get(body["download_url"])
    assert archive.status_code == 200, archive.text
    assert archive.headers["content-type"] == "application/zip"
    assert "attachment" in archive.headers["content-disposition"]
    return body, archive.content


def _rows(packed: zipfile.ZipFile, files: dict[tuple[str, str], str], service: str, table: str) -> list[Any]:
    return [json.loads(line) for line in packed.read(files[(service, table)]).splitlines()]


def test_an_admin_backs_up_everything_and_downloads_it(platform: Platform, tenant: TenantContext,
                                                       other_tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    data = _populate(admin)
    other = other_tenant.http().post("/v1/customers", json={"name": "别家的客户", "mobile": "13900139001"})
    assert other.status_code == 201
    body, content = _take_backup(admin)

    with zipfile.ZipFile(io.BytesIO(content)) as packed:
        assert packed.namelist()[0] == "manifest.json"
        manifest = json.loads(packed.read("manifest.json"))
        assert manifest["format"] == "crm-tenant-export/1"
        assert manifest["tenant"] == {"id": tenant.tenant_id, "slug": tenant.slug}
        for entry in manifest["files"]:
            raw = packed.read(entry["path"])
            assert hashlib.sha256(raw).hexdigest() == entry["sha256"] and len(raw.splitlines()) == entry["rows"]
        assert sum(f["rows"] for f in manifest["files"]) == body["rows"]
        files = {(f["service"], f["table"]): f["path"] for f in manifest["files"]}
        customers = _rows(packed, files, "customers", "customers")
        assert sorted(c["code"] for c in customers) == sorted(c["code"] for c in data["customers"])
        sensitive = next(c for c in customers if c["id"] == data["customers"][0]["id"])
        assert sensitive["resident_id_enc"] and sensitive["resident_id_masked"] != RESIDENT_ID
        assert [o["external_id"] for o in _rows(packed, files, "customers", "orders")] == ["ERP-B1"]
        assert [t["name"] for t in _rows(packed, files, "tagging", "tags")] == ["重点客户"]
        tagged = [t["customer_id"] for t in _rows(packed, files, "tagging", "customer_tags")]
        assert tagged == [data["customers"][0]["id"]]
        assert [t["title"] for t in _rows(packed, files, "followups", "tasks")] == ["回访"]
        assert [r["content"] for r in _rows(packed, files, "followups", "records")] == ["谈了续约"]
        assert [u["email"] for u in _rows(packed, files, "identity", "users")] == [admin_email(tenant)]
        actions = {e["action"] for e in _rows(packed, files, "identity", "audit_events")}
        assert "tenant.backup_started" in actions
        [settings] = _rows(packed, files, "identity", "control.tenant")
        assert settings["slug"] == tenant.slug and settings["time_zone"]
        everything = b"".join(packed.read(name) for name in packed.namelist())
    assert "别家的客户".encode() not in everything and RESIDENT_ID.encode() not in everything
    assert b"password_hash" not in everything and b"secret_encrypted" not in everything
    assert b"tenant_backup_pages" not in everything  # earlier backups are not inside a backup

    # Listed, downloads audited, nothing erased: the tenant keeps working.
    listed = admin.get(BACKUPS).json()["items"]
    assert [b["id"] for b in listed] == [body["id"]] and listed[0]["requested_by_name"]
    audit = admin.get("/v1/audit-events", params={"action": "tenant.backup"}).json()["items"]
    assert {"tenant.backup_started", "tenant.backup_downloaded"} <= {e["action"] for e in audit}
    assert len(admin.get("/v1/customers").json()["items"]) == 3


def test_only_tenant_admins_may_back_up(platform: Platform, tenant: TenantContext,
                                        other_tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    body, _ = _take_backup(admin)
    backup = f"{BACKUPS}/{body['id']}"
    paths = [("POST", BACKUPS), ("GET", BACKUPS), ("GET", backup), ("GET", f"{backup}/archive"),
             ("POST", f"{backup}:cancel"), ("POST", f"{backup}:resume")]

    create_user(tenant, f"rep@{tenant.slug}.example.com")
    rep = httpx.Client(base_url=platform.gateway_url, timeout=30, headers={
        "Authorization": f"Bearer {_sign_in(platform, tenant, f'rep@{tenant.slug}.example.com')}"})
    no_scope = tenant.http(ALL_SCOPES)  # an API client with every scope but tenant:backup
    for http in (rep, no_scope):
        for method, path in paths:
            reply = http.request(method, path)
            assert reply.status_code == 403, (method, path, reply.text)
            assert reply.json()["code"] in ("permission_denied", "insufficient_scope"), reply.text

    # Another tenant's admin: the backup does not exist for them.
    theirs = admin_http(other_tenant)
    for method, path in paths[2:]:
        reply = theirs.request(method, path)
        assert reply.status_code == 404, (method, path, reply.text)
    assert theirs.get(BACKUPS).json()["items"] == []
    assert admin.get(f"{BACKUPS}/not-a-backup-id").status_code == 404

    expired = identity_keyring_token(platform, tenant.tenant_id, ttl=-120, scopes=["tenant:backup"])
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        for method, path in paths:
            reply = httpx.request(method, f"{platform.gateway_url}{path}", headers=headers)
            assert reply.status_code == 401, (method, path, reply.text)


def test_cancel_and_resume(tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    _populate(admin)
    started = admin.post(BACKUPS).json()
    # One backup at a time.
    again = admin.post(BACKUPS)
    if again.status_code == 409:
        assert again.json()["code"] == "backup_in_progress"
    cancelled = admin.post(f"{BACKUPS}/{started['id']}:cancel")
    if cancelled.status_code == 409:  # it finished first: then it cannot be cancelled
        assert cancelled.json()["code"] == "not_cancellable"
        assert _finished(admin, started["id"])["status"] == "succeeded"
        return
    assert cancelled.status_code == 200 and cancelled.json()["status"] in ("cancelling", "cancelled")
    state = wait_for(lambda: admin.get(f"{BACKUPS}/{started['id']}").json()["status"] in ("cancelled", "succeeded")
                     and admin.get(f"{BACKUPS}/{started['id']}").json())
    if state["status"] == "cancelled":
        not_ready = admin.get(f"{BACKUPS}/{started['id']}/archive")
        assert not_ready.status_code == 409 and not_ready.json()["code"] == "backup_not_ready"
        resumed = admin.post(f"{BACKUPS}/{started['id']}:resume")
        assert resumed.status_code == 200, resumed.text
        assert _finished(admin, started["id"])["status"] == "succeeded"
    again = admin.post(f"{BACKUPS}/{started['id']}:resume")
    assert again.status_code == 409 and again.json()["code"] == "not_resumable"
    assert admin.get(f"{BACKUPS}/{started['id']}/archive").status_code == 200


def test_restore_round_trip(platform: Platform, api: Any, tenant: TenantContext, tmp_path: Path) -> None:
    admin = admin_http(tenant)
    data = _populate(admin)
    # Settings the tenant changed from the defaults its migrations seeded come along too.
    assert admin.patch("/v1/tenant", json={"time_zone": "Europe/Berlin", "name": "备份公司"}).status_code == 200
    settings = admin.get("/v1/customer-settings")
    assert admin.patch("/v1/customer-settings", json={"code_pattern": "BK-{seq:05}"},
                       headers={"If-Match": settings.headers.get("ETag", "*")}).status_code == 200, settings.text
    _, content = _take_backup(admin)
    archive = tmp_path / "a.zip"
    archive.write_bytes(content)

    slug = f"{tenant.slug}-r"
    done = crm(platform, "tenant", "restore", "--from", str(archive), "--slug", slug,
               "--admin-password", "Restored-pass-42")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restored" in done.stdout and slug in done.stdout and "not restored" not in done.stdout, done.stdout
    taken = crm(platform, "tenant", "restore", "--from", str(archive), "--slug", slug)
    assert taken.returncode == 1 and "taken" in taken.stderr
    broken = tmp_path / "broken.zip"
    broken.write_bytes(content[: len(content) // 2])
    refused = crm(platform, "tenant", "restore", "--from", str(broken), "--slug", f"{tenant.slug}-x")
    assert refused.returncode == 1

    signed_in = api.login_code_flow(slug, admin_email(tenant), "Restored-pass-42")
    restored = httpx.Client(base_url=platform.gateway_url, timeout=30,
                            headers={"Authorization": f"Bearer {signed_in['access_token']}"})
    restored_tenant = restored.get("/v1/tenant").json()
    assert restored_tenant["slug"] == slug and restored_tenant["id"] != tenant.tenant_id
    assert (restored_tenant["name"], restored_tenant["time_zone"]) == ("备份公司", "Europe/Berlin")
    assert restored.get("/v1/customer-settings").json()["code_pattern"] == "BK-{seq:05}"

    def listing(http: httpx.Client, path: str) -> list[dict[str, Any]]:
        reply = http.get(path, params={"page_size": 100})
        assert reply.status_code == 200, (path, reply.text)
        return list(reply.json()["items"])

    for path in ("/v1/customers", "/v1/tags", "/v1/followup-tasks", "/v1/followup-records",
                 f"/v1/customers/{data['customers'][0]['id']}/orders",
                 f"/v1/customers/{data['customers'][0]['id']}/tags"):
        mine, theirs = listing(admin, path), listing(restored, path)
        assert len(mine) == len(theirs) > 0, path
        assert sorted(json.dumps(x, sort_keys=True) for x in mine) == sorted(
            json.dumps(x, sort_keys=True) for x in theirs), path
    # A sample record field by field (ids kept), the sensitive field still opens for a reveal.
    sample = data["customers"][0]["id"]
    assert admin.get(f"/v1/customers/{sample}").json() == restored.get(f"/v1/customers/{sample}").json()
    revealed = restored.post(f"/v1/customers/{sample}:reveal", json={"fields": ["resident_id"]})
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["values"] == {"resident_id": RESIDENT_ID}
    # The audit log came along as history, with the restore on top.
    history = {e["action"] for e in listing(restored, "/v1/audit-events")}
    assert {"tenant.backup_started", "tenant.restored"} <= history
    # The source keeps working and is untouched.
    assert len(listing(admin, "/v1/customers")) == 3
