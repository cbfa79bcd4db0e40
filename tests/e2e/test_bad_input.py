"""Bad input gets a 4xx problem+json with a stable code and the field at fault, never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import TenantContext


def _problem(reply, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body = reply.json()
    assert body["status"] == status and body["type"] and body["title"]
    if code:
        assert body["code"] == code
    return body  # type: ignore[no-any-return]


def test_malformed_json(tenant: TenantContext) -> None:
    reply = tenant.http().post("/v1/customers", content=b'{"name": "x",', headers={"content-type": "application/json"})
    _problem(reply, 400)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": 123, "mobile": "13800138000"}, "name"),
        ({"name": "x", "mobile": ["13800138000"]}, "mobile"),
        ({"name": "x", "mobile": "13800138000", "nmae": "typo"}, "nmae"),
        ([1, 2, 3], None),
        ("just a string", None),
    ],
)
def test_wrong_types_and_unknown_fields(tenant: TenantContext, body: object, field: str | None) -> None:
    problem = _problem(tenant.http().post("/v1/customers", json=body), 400, "invalid_input")
    if field:
        assert any(field in e["field"] for e in problem["errors"]), problem


def test_domain_validation_names_each_field(tenant: TenantContext) -> None:
    reply = tenant.http().post("/v1/customers", json={"name": "", "mobile": "12345", "email": "not-an-email"})
    problem = _problem(reply, 400, "invalid_input")
    codes = {(e["field"], e["code"]) for e in problem["errors"]}
    assert {("name", "required"), ("mobile", "invalid_phone"), ("email", "invalid_email")} <= codes


def test_messages_follow_accept_language(tenant: TenantContext) -> None:
    http = tenant.http()
    zh = _problem(
        http.post("/v1/customers", json={"name": "x", "mobile": "12"}, headers={"Accept-Language": "zh-CN"}), 400
    )
    en = _problem(
        http.post("/v1/customers", json={"name": "x", "mobile": "12"}, headers={"Accept-Language": "en"}), 400
    )
    assert zh["errors"][0]["code"] == en["errors"][0]["code"] == "invalid_phone"
    assert zh["errors"][0]["message"] != en["errors"][0]["message"]


def test_huge_body_is_413(tenant: TenantContext) -> None:
    huge = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    _problem(tenant.http().post("/v1/customers", content=huge, headers={"content-type": "application/json"}), 413)


def test_nothing_half_written_after_a_rejected_create(tenant: TenantContext) -> None:
    http = tenant.http()
    _problem(http.post("/v1/customers", json={"name": "Half Co.", "mobile": "1"}), 400)
    assert http.get("/v1/customers", params={"q": "Half Co."}).json()["items"] == []


def test_bad_query_parameters(tenant: TenantContext) -> None:
    http = tenant.http()
    _problem(http.get("/v1/customers", params={"page_size": "lots"}), 400)
    _problem(http.get("/v1/customers", params={"page_size": -1}), 400)
    _problem(http.get("/v1/customers", params={"order_by": "drop table"}), 400)


def test_users_page_tokens_are_opaque_and_a_forged_one_is_400(tenant: TenantContext) -> None:
    """Found by the API fuzzer: a malformed users page_token was a 404 `not_found` (undocumented);
    the token was a bare user id. Now it is signed like every list's, and a bad one is a 400."""
    import httpx

    http = httpx.Client(base_url=tenant.api.base_url, timeout=30,
                        headers={"Authorization": f"Bearer {tenant.admin_token}"})
    for n in range(2):
        created = http.post("/v1/users", json={"email": f"page{n}@example.com", "password": "Quiet-harbour-lamp-7",
                                               "display_name": f"Page {n}"})
        assert created.status_code == 201, created.text
    seen: list[str] = []
    token = ""
    while True:
        reply = http.get("/v1/users", params={"page_size": 1, **({"page_token": token} if token else {})})
        assert reply.status_code == 200, reply.text
        seen += [u["id"] for u in reply.json()["items"]]
        token = reply.json().get("next_page_token", "")
        if not token:
            break
        import uuid

        try:
            uuid.UUID(token)
            raise AssertionError("a page token must not be a bare id")
        except ValueError:
            pass
    assert len(seen) == len(set(seen)) == 3  # the admin and the two users, each once
    for forged in ("not-a-token", seen[0]):
        problem = _problem(http.get("/v1/users", params={"page_token": forged}), 400, "invalid_input")
        assert problem["errors"][0] == {"field": "page_token", "code": "invalid_page_token",
                                        "message": problem["errors"][0]["message"]}
