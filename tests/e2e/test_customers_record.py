"""The complete customer record over HTTP: every field, cleaning, code patterns, custom fields,
status lifecycle, soft delete and restore (with events), isolation and scopes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from crm_dev.platform import Platform
from tests.conftest import ALL_SCOPES, TenantContext, wait_for
from tests.e2e.receiver import Receiver
from tests.e2e.test_isolation import _identity_signed

ADMIN = [*ALL_SCOPES, "customers:admin"]
YEAR = datetime.now(UTC).year

FULL = {
    "name": "北京云帆科技有限公司",
    "type": "enterprise",
    "contact_person": "张伟",
    "mobile": "138 0013 8000",
    "phone": "010-62345678",
    "email": "ZhangWei@Yunfan.example.cn",
    "industry": "IT",
    "region": "北京",
    "source": "展会",
    "first_contact_date": "2024-03-15",
    "employees": 250,
    "annual_revenue": "12,500,000.5",
    "annual_revenue_currency": "cny",
    "needs": "CRM 私有化部署",
    "notes": "　全角备注　",
    "credit_code": "91350100m000100y43",
}


def _problem(reply: httpx.Response, status: int) -> dict:  # type: ignore[type-arg]
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    return reply.json()  # type: ignore[no-any-return]


def test_create_with_every_field_is_cleaned(tenant: TenantContext) -> None:
    http = tenant.http()
    reply = http.post("/v1/customers", json=FULL)
    assert reply.status_code == 201, reply.text
    c = reply.json()
    assert c["mobile"] == "+8613800138000"
    assert c["phone"] == "+861062345678"  # the landline keeps its area code
    assert c["email"] == "ZhangWei@yunfan.example.cn"
    assert c["region"] == "华北/北京"
    assert c["source"] == "trade_show"
    assert c["annual_revenue"] == "12500000.50" and c["annual_revenue_currency"] == "CNY"
    assert c["employees"] == 250 and c["notes"] == "全角备注"
    assert c["credit_code"] == "91350100M000100Y43"
    assert c["first_contact_date"] == "2024-03-15" and c["status"] == "potential"
    assert c["code"].startswith(f"CUS-{YEAR}-")
    assert reply.headers["etag"] == 'W/"1"'
    got = http.get(f"/v1/customers/{c['id']}").json()
    assert got == c


def test_field_errors_have_stable_codes_in_both_languages(tenant: TenantContext) -> None:
    http = tenant.http()
    body = {"name": "x", "mobile": "010-62345678", "phone": "12", "credit_code": "91350100M000100Y44",
            "first_contact_date": "2099-01-01", "annual_revenue": "abc", "source": "nowhere"}
    zh = _problem(http.post("/v1/customers", json=body, headers={"Accept-Language": "zh-CN"}), 400)
    en = _problem(http.post("/v1/customers", json=body, headers={"Accept-Language": "en"}), 400)
    codes = {(e["field"], e["code"]) for e in zh["errors"]}
    assert codes == {("mobile", "not_mobile"), ("phone", "invalid_phone"), ("credit_code", "credit_code_checksum"),
                     ("first_contact_date", "date_in_future"), ("annual_revenue", "invalid_decimal"),
                     ("source", "not_in_dictionary")}
    zh_messages = {e["code"]: e["message"] for e in zh["errors"]}
    en_messages = {e["code"]: e["message"] for e in en["errors"]}
    assert all(zh_messages[k] != en_messages[k] for k in zh_messages)
    assert "校验位" in zh_messages["credit_code_checksum"]


def test_code_pattern_and_settings(tenant: TenantContext) -> None:
    http = tenant.http(ADMIN)
    bad = _problem(http.patch("/v1/customer-settings", json={"code_pattern": "{region}-{nope}"}), 400)
    assert bad["errors"][0]["field"] == "code_pattern"
    reply = http.patch("/v1/customer-settings", json={"code_pattern": "{region}-{industry}-{year}-{seq:03}"})
    assert reply.status_code == 200, reply.text
    codes = []
    for region in ("北京", "天津", "上海"):
        created = http.post("/v1/customers", json={"name": f"{region}客户", "mobile": "13800138000",
                                                   "industry": "IT", "region": region})
        assert created.status_code == 201, created.text
        codes.append(created.json()["code"])
    assert codes == [f"HB-IT-{YEAR}-001", f"HB-IT-{YEAR}-002", f"HD-IT-{YEAR}-001"]
    missing = _problem(http.post("/v1/customers", json={"name": "无地区", "mobile": "13800138000"}), 400)
    assert {(e["field"], e["code"]) for e in missing["errors"]} == {
        ("region", "required_for_code"), ("industry", "required_for_code")}
    by_hand = http.post("/v1/customers", json={"name": "手工", "mobile": "13800138000", "code": "VIP-1"})
    assert by_hand.json()["code"] == "VIP-1"
    taken = _problem(http.post("/v1/customers", json={"name": "重复", "mobile": "13800138000", "code": "VIP-1"}), 409)
    assert taken["code"] == "code_taken"
    assert http.get("/v1/customer-settings").json()["code_pattern"] == "{region}-{industry}-{year}-{seq:03}"


def test_dictionaries(tenant: TenantContext) -> None:
    http = tenant.http(ADMIN)
    region = http.get("/v1/dictionaries/region").json()
    beijing = next(e for e in region["entries"] if e["code"] == "BJ")
    assert beijing == {**beijing, "label": "北京", "label_zh": "北京", "label_en": "Beijing", "parent": "HB",
                       "path": "华北/北京"}
    assert http.get("/v1/dictionaries/nope").status_code == 404
    orphan = {"entries": [{"code": "A", "label": "甲", "parent": "Z"}]}
    bad = _problem(http.put("/v1/dictionaries/region", json=orphan), 400)
    assert bad["errors"][0]["field"] == "entries[0].parent"
    reply = http.put("/v1/dictionaries/industry", json={"entries": [{"code": "SW", "label": "软件"}]})
    assert reply.status_code == 200, reply.text
    assert http.patch("/v1/customer-settings", json={"enforce_dictionaries": True}).status_code == 200
    body = {"name": "x", "mobile": "13800138000", "industry": "IT"}
    rejected = _problem(http.post("/v1/customers", json=body), 400)
    assert rejected["errors"][0] == {**rejected["errors"][0], "field": "industry", "code": "not_in_dictionary"}
    accepted = http.post("/v1/customers", json={"name": "x", "mobile": "13800138000", "industry": "软件"})
    assert accepted.status_code == 201, accepted.text
    reader = tenant.http(["customers:read"])
    assert reader.get("/v1/dictionaries/industry").status_code == 200
    _problem(reader.put("/v1/dictionaries/industry", json={"entries": []}), 403)
    _problem(tenant.http().get("/v1/customer-settings"), 403)


def test_stale_if_match_is_412(tenant: TenantContext) -> None:
    http = tenant.http()
    c = http.post("/v1/customers", json={"name": "甲", "mobile": "13800138000"}).json()
    assert http.patch(f"/v1/customers/{c['id']}", json={"needs": "a"}, headers={"If-Match": 'W/"1"'}).status_code == 200
    stale = _problem(http.patch(f"/v1/customers/{c['id']}", json={"needs": "b"}, headers={"If-Match": 'W/"1"'}), 412)
    assert stale["code"] == "stale_version" and stale["current_version"] == 2
    _problem(http.delete(f"/v1/customers/{c['id']}", headers={"If-Match": 'W/"1"'}), 412)
    _problem(http.delete(f"/v1/customers/{c['id']}"), 428)


def test_soft_delete_and_restore_emit_events(tenant: TenantContext) -> None:
    receiver = Receiver()
    http = tenant.http(ADMIN)
    try:
        assert http.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": []}).status_code == 201
        c = http.post("/v1/customers", json={"name": "将删除", "mobile": "13800138000"}).json()
        deleted = http.delete(f"/v1/customers/{c['id']}", headers={"If-Match": 'W/"1"'})
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["deleted_at"] and deleted.json()["version"] == 2
        _problem(http.get(f"/v1/customers/{c['id']}"), 404)
        _problem(http.patch(f"/v1/customers/{c['id']}", json={"needs": "x"}, headers={"If-Match": 'W/"2"'}), 404)
        assert http.get("/v1/customers").json()["items"] == []
        listed = http.get("/v1/customers", params={"show_deleted": "true"}).json()["items"]
        assert [x["id"] for x in listed] == [c["id"]]
        assert http.get(f"/v1/customers/{c['id']}", params={"show_deleted": "true"}).status_code == 200
        _problem(tenant.http().get("/v1/customers", params={"show_deleted": "true"}), 403)
        restored = http.post(f"/v1/customers/{c['id']}:restore")
        assert restored.status_code == 200, restored.text
        assert restored.json()["deleted_at"] is None and restored.json()["version"] == 3
        assert http.get(f"/v1/customers/{c['id']}").status_code == 200
        assert _problem(http.post(f"/v1/customers/{c['id']}:restore"), 409)["code"] == "not_deleted"
        for kind, version in (("deleted", "2"), ("restored", "3")):
            [delivery] = wait_for(lambda kind=kind: receiver.of_type(f"crm.customer.{kind}"))
            assert delivery.event["data"]["customer"]["id"] == c["id"]
            assert delivery.event["data"]["customer"]["version"] == version
    finally:
        receiver.close()


def test_custom_fields(tenant: TenantContext) -> None:
    admin = tenant.http(ADMIN)
    for body in (
        {"key": "tier", "label": "客户等级", "type": "single_select", "options": ["A", "B", "C"], "required": True},
        {"key": "seats", "label": "席位数", "type": "number", "min": "1", "max": "1000"},
        {"key": "products", "label": "关注产品", "type": "multi_select", "options": ["CRM", "ERP", "BI"]},
        {"key": "po", "label": "采购单号", "type": "text", "pattern": "PO-\\d{4}"},
        {"key": "vip", "label": "VIP", "type": "boolean"},
        {"key": "renewal", "label": "续约日", "type": "date", "min": "2020-01-01"},
    ):
        reply = admin.post("/v1/customer-fields", json=body)
        assert reply.status_code == 201, reply.text
    assert _problem(admin.post("/v1/customer-fields", json={"key": "vip", "label": "x", "type": "boolean"}),
                    409)["code"] == "field_key_taken"
    bad_def = _problem(admin.post("/v1/customer-fields", json={"key": "Bad Key", "label": "x", "type": "text"}), 400)
    assert bad_def["errors"][0]["field"] == "key"
    _problem(tenant.http().post("/v1/customer-fields", json={"key": "x", "label": "x", "type": "text"}), 403)

    http = tenant.http()
    missing = _problem(http.post("/v1/customers", json={"name": "x", "mobile": "13800138000"}), 400)
    assert {(e["field"], e["code"]) for e in missing["errors"]} == {("custom_fields.tier", "required")}
    wrong = _problem(http.post("/v1/customers", json={"name": "x", "mobile": "13800138000", "custom_fields": {
        "tier": "Z", "seats": 0, "products": ["CRM", "HR"], "po": "123", "vip": "yes", "renewal": "2019-12-31",
        "nope": 1}}), 400)
    assert {(e["field"], e["code"]) for e in wrong["errors"]} == {
        ("custom_fields.tier", "invalid_choice"), ("custom_fields.seats", "out_of_range"),
        ("custom_fields.products", "invalid_choice"), ("custom_fields.po", "pattern_mismatch"),
        ("custom_fields.vip", "invalid_type"), ("custom_fields.renewal", "out_of_range"),
        ("custom_fields.nope", "unknown_custom_field")}
    one = http.post("/v1/customers", json={"name": "一", "mobile": "13800138000", "custom_fields": {
        "tier": "A", "seats": 20, "products": ["ERP", "CRM"], "po": "PO-1234", "vip": True}})
    assert one.status_code == 201, one.text
    assert one.json()["custom_fields"] == {"tier": "A", "seats": 20, "products": ["CRM", "ERP"], "po": "PO-1234",
                                           "vip": True}
    two = http.post("/v1/customers", json={"name": "二", "mobile": "13800138001", "custom_fields": {
        "tier": "B", "products": ["BI"], "vip": False}}).json()

    def names(**params: str) -> list[str]:
        reply = http.get("/v1/customers", params=params)
        assert reply.status_code == 200, reply.text
        return sorted(c["name"] for c in reply.json()["items"])

    assert names(**{"cf.tier": "A"}) == ["一"]
    assert names(**{"cf.products": "CRM"}) == ["一"]
    assert names(**{"cf.vip": "false"}) == ["二"]
    assert names(**{"cf.seats": "20"}) == ["一"]
    assert _problem(http.get("/v1/customers", params={"cf.nope": "1"}), 400)["errors"][0]["field"] == "cf.nope"
    assert _problem(http.get("/v1/customers", params={"bogus": "1"}), 400)["errors"][0]["field"] == "bogus"
    patched = http.patch(f"/v1/customers/{two['id']}", json={"custom_fields": {"vip": None, "seats": 5}},
                         headers={"If-Match": 'W/"1"'})
    assert patched.status_code == 200, patched.text
    assert patched.json()["custom_fields"] == {"tier": "B", "products": ["BI"], "seats": 5}

    removed = admin.delete("/v1/customer-fields/products")
    assert removed.status_code == 200 and removed.json()["key"] == "products"
    _problem(admin.get("/v1/customer-fields/products"), 404)
    _problem(admin.delete("/v1/customer-fields/products"), 404)
    renamed = admin.patch("/v1/customer-fields/seats", json={"label": "席位", "max": "5000"})
    assert renamed.status_code == 200 and renamed.json()["max"] == "5000" and renamed.json()["version"] == 2
    assert _problem(admin.patch("/v1/customer-fields/seats", json={"min": "x"}), 400)["errors"][0]["field"] == "min"


def test_change_status_with_history(tenant: TenantContext) -> None:
    http = tenant.http()
    c = http.post("/v1/customers", json={"name": "状态", "mobile": "13800138000"}).json()
    no_reason = _problem(http.post(f"/v1/customers/{c['id']}:change-status", json={"status": "intent", "reason": ""}),
                         400)
    assert no_reason["errors"][0]["field"] == "reason"
    via_patch = _problem(http.patch(f"/v1/customers/{c['id']}", json={"status": "won"}, headers={"If-Match": 'W/"1"'}),
                         400)
    assert via_patch["errors"][0]["code"] == "use_change_status"
    moved = http.post(f"/v1/customers/{c['id']}:change-status", json={"status": "intent", "reason": "演示后有兴趣"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "intent"
    won = http.post(f"/v1/customers/{c['id']}:change-status", json={"status": "won", "reason": "签约"})
    assert won.status_code == 200, won.text
    blocked = _problem(http.post(f"/v1/customers/{c['id']}:change-status", json={"status": "intent", "reason": "x"}),
                       409)
    assert blocked["code"] == "transition_not_allowed" and blocked["allowed"] == ["lost"]
    history = http.get(f"/v1/customers/{c['id']}/status-history").json()["items"]
    assert [(h["from_status"], h["to_status"], h["reason"]) for h in history] == [
        ("intent", "won", "签约"), ("potential", "intent", "演示后有兴趣"), (None, "potential", "")]
    admin = tenant.http(ADMIN)
    reply = admin.patch("/v1/customer-settings", json={"status_transitions": {"won": ["lost", "intent"]}})
    assert reply.status_code == 200, reply.text
    assert http.post(f"/v1/customers/{c['id']}:change-status", json={"status": "intent", "reason": "续约谈判"}
                     ).status_code == 200
    assert http.get("/v1/customers", params={"status": "intent"}).json()["items"][0]["id"] == c["id"]


def test_list_filters_and_order(tenant: TenantContext) -> None:
    http = tenant.http()
    for name, region, kind, source in (("甲", "北京", "enterprise", "referral"), ("乙", "上海", "individual", "online"),
                                       ("丙", "天津", "enterprise", "online")):
        assert http.post("/v1/customers", json={"name": name, "mobile": "13800138000", "region": region,
                                                "type": kind, "source": source,
                                                "first_contact_date": "2024-01-0" + str(len(name) + 1)}
                         ).status_code == 201

    def names(**params: str) -> list[str]:
        reply = http.get("/v1/customers", params=params)
        assert reply.status_code == 200, reply.text
        return [c["name"] for c in reply.json()["items"]]

    assert sorted(names(region="华北")) == ["丙", "甲"]
    assert names(type="individual") == ["乙"]
    assert sorted(names(source="online")) == ["丙", "乙"]
    assert names(created_after="2000-01-01", order_by="created_at asc") == ["甲", "乙", "丙"]
    assert names(created_before="2000-01-01") == []
    assert len(names(first_contact_after="2024-01-01", first_contact_before="2024-12-31")) == 3
    assert names(order_by="code desc") == ["丙", "乙", "甲"]
    first = http.get("/v1/customers", params={"order_by": "name asc", "page_size": 2}).json()
    rest = http.get("/v1/customers", params={"order_by": "name asc", "page_size": 2,
                                             "page_token": first["next_page_token"]}).json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and "next_page_token" not in rest
    for params in ({"created_after": "yesterday"}, {"owner_id": "x"}, {"status": "gone"}, {"type": "robot"}):
        _problem(http.get("/v1/customers", params=params), 400)


def test_isolation_and_scopes(platform: Platform, tenant: TenantContext, other_tenant: TenantContext) -> None:
    c = tenant.http().post("/v1/customers", json={"name": "A 的客户", "mobile": "13800138000"}).json()
    other = other_tenant.http(ADMIN)
    for reply in (
        other.get(f"/v1/customers/{c['id']}"),
        other.delete(f"/v1/customers/{c['id']}", headers={"If-Match": 'W/"1"'}),
        other.post(f"/v1/customers/{c['id']}:restore"),
        other.post(f"/v1/customers/{c['id']}:change-status", json={"status": "intent", "reason": "x"}),
        other.get(f"/v1/customers/{c['id']}/status-history"),
        other.get(f"/v1/customers/{c['id']}", params={"show_deleted": "true"}),
    ):
        _problem(reply, 404)
    reader = tenant.http(["customers:read"])
    for reply in (
        reader.delete(f"/v1/customers/{c['id']}", headers={"If-Match": 'W/"1"'}),
        reader.post(f"/v1/customers/{c['id']}:restore"),
        reader.post(f"/v1/customers/{c['id']}:change-status", json={"status": "intent", "reason": "x"}),
        reader.patch("/v1/customer-settings", json={"enforce_dictionaries": True}),
        reader.delete("/v1/customer-fields/x"),
    ):
        _problem(reply, 403)
    base = tenant.api.base_url
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": "Bearer forged.token.value"}, {"Authorization": f"Bearer {expired}"}):
        for path in (f"/v1/customers/{c['id']}/status-history", "/v1/customer-settings", "/v1/dictionaries/region",
                     "/v1/customer-fields"):
            _problem(httpx.get(base + path, headers=headers), 401)
