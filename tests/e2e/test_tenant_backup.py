"""`crm tenant backup` (docs/tenancy.md#backup): the offboarding exporter's files and manifest of an
active tenant packed into one ZIP; nothing is suspended or erased, the tenant keeps working, another
tenant's data is not in it, the operator's job row records who took it; an unknown tenant is refused."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from crm_dev.operator import operator_name
from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_tenant_lifecycle import _db, crm


def test_backup_is_a_zip_of_everything_and_erases_nothing(platform: Platform, tenant: TenantContext,
                                                           other_tenant: TenantContext, tmp_path: Path) -> None:
    http, other = tenant.http(), other_tenant.http()
    tag_id = http.post("/v1/tags", json={"name": "重点"}).json()["id"]
    names = [f"备份客户{index}" for index in range(3)]
    ids = [http.post("/v1/customers", json={"name": name, "mobile": f"1580000300{index}"}).json()["id"]
           for index, name in enumerate(names)]
    assert http.post(f"/v1/customers/{ids[0]}/tags", json={"tag_id": tag_id}).status_code in (200, 201)
    assert http.post("/v1/followup-tasks", json={"customer_id": ids[1], "title": "回访",
                                                 "due_at": "2030-01-01T09:00:00+08:00"}).status_code == 201
    assert other.post("/v1/customers", json={"name": "别家的客户", "mobile": "13900139001"}).status_code == 201
    wait_for(lambda: len(http.get("/v1/customers").json()["items"]) == 3)

    archive = tmp_path / "backups" / "acme.zip"
    done = crm(platform, "tenant", "backup", "--tenant", tenant.slug, "--to", str(archive))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "backed up" in done.stdout and archive.is_file()
    assert not list(archive.parent.glob("*.partial")) and [p.name for p in archive.parent.iterdir()] == ["acme.zip"]

    with zipfile.ZipFile(archive) as packed:
        assert packed.namelist()[0] == "manifest.json"
        manifest = json.loads(packed.read("manifest.json"))
        assert manifest["format"] == "crm-tenant-export/1"
        assert manifest["tenant"] == {"id": tenant.tenant_id, "slug": tenant.slug}
        for entry in manifest["files"]:
            data = packed.read(entry["path"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data.splitlines()) == entry["rows"]
        files = {(f["service"], f["table"]): f["path"] for f in manifest["files"]}

        def rows(service: str, table: str) -> list[dict[str, object]]:
            return [json.loads(line) for line in packed.read(files[(service, table)]).splitlines()]

        assert sorted(str(c["name"]) for c in rows("customers", "customers")) == names
        assert [t["name"] for t in rows("tagging", "tags")] == ["重点"]
        assert [str(t["customer_id"]) for t in rows("tagging", "customer_tags")] == [ids[0]]
        assert [t["title"] for t in rows("followups", "tasks")] == ["回访"]
        assert [u["email"] for u in rows("identity", "users")] == [f"admin@{tenant.slug}.example.com"]
        assert rows("identity", "audit_events"), "the audit log is part of the backup"
        everything = b"".join(packed.read(name) for name in packed.namelist())
    assert "别家的客户".encode() not in everything
    assert b"password_hash" not in everything and b"secret_encrypted" not in everything

    # Nothing was suspended or erased.
    assert len(http.get("/v1/customers").json()["items"]) == 3
    assert http.post("/v1/customers", json={"name": "备份之后", "mobile": "15800003009"}).status_code == 201
    with _db(platform, "identity") as conn:
        job = conn.execute("SELECT status, result, progress_done, progress_total FROM control.jobs"
                           " WHERE kind = 'tenant.backup' AND payload->>'tenant_id' = %s", (tenant.tenant_id,)
                           ).fetchone()
    assert job is not None and job[0] == "succeeded"
    assert job[1]["runs"][0]["by"] == operator_name() and job[1]["archive"] == str(archive.resolve())
    assert job[1]["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert job[2] == job[3] > 0  # the progress reached its end

    refused = crm(platform, "tenant", "backup", "--tenant", "no-such-company", "--to", str(tmp_path / "x.zip"))
    assert refused.returncode == 1 and "no tenant" in refused.stderr and not (tmp_path / "x.zip").exists()
    http.close()
    other.close()
