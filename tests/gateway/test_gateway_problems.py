"""The one error mapper: gRPC status -> HTTP problem, request validation, routing, 500s."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import grpc
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from grpc.aio import Metadata
from joserfc.jwk import ECKey

from crm_gateway import problems
from crm_gateway.problems import InternalErrorMiddleware, UpstreamError, rename_fields
from crm_platform.errors import ERROR_METADATA_KEY, ErrorDetail
from tests.gateway.gateway_testkit import assert_problem, make_token


@pytest.fixture
def raising() -> Iterator[tuple[TestClient, list[Exception]]]:
    """An app whose one route raises whatever the test puts in the list."""
    pending: list[Exception] = []
    app = FastAPI()
    problems.install(app, "http://testserver/problems/", 1024)
    app.add_middleware(InternalErrorMiddleware)

    @app.get("/boom")
    async def boom() -> None:
        raise pending.pop()

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, pending


def upstream(status: grpc.StatusCode, code: str = "", message: str = "", errors: list[dict[str, str]] | None = None,
             **extra: object) -> UpstreamError:
    return UpstreamError(ErrorDetail(status, code, message, errors or [], dict(extra)), "/svc/Method")


@pytest.mark.parametrize(
    ("status", "http_status", "code"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_input"),
        (grpc.StatusCode.UNAUTHENTICATED, 401, "unauthenticated"),
        (grpc.StatusCode.PERMISSION_DENIED, 403, "permission_denied"),
        (grpc.StatusCode.NOT_FOUND, 404, "not_found"),
        (grpc.StatusCode.ALREADY_EXISTS, 409, "conflict"),
        (grpc.StatusCode.FAILED_PRECONDITION, 412, "precondition_failed"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "rate_limited"),
        (grpc.StatusCode.UNAVAILABLE, 503, "unavailable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 503, "deadline_exceeded"),
        (grpc.StatusCode.INTERNAL, 500, "internal"),
        (grpc.StatusCode.UNKNOWN, 500, "internal"),
    ],
)
def test_grpc_status_maps_to_http(raising: tuple[TestClient, list[Exception]], status: grpc.StatusCode,
                                  http_status: int, code: str) -> None:
    client, pending = raising
    pending.append(upstream(status))
    assert_problem(client.get("/boom"), http_status, code)


def test_service_code_and_message_are_kept(raising: tuple[TestClient, list[Exception]]) -> None:
    client, pending = raising
    pending.append(upstream(grpc.StatusCode.NOT_FOUND, "customer_not_found", "customer 42 not found"))
    body = assert_problem(client.get("/boom"), 404, "customer_not_found")
    assert body["title"] == "Not found"  # generic title for a code the catalogue does not know
    assert body["detail"] == "customer 42 not found"


def test_stale_version_carries_the_current_one(raising: tuple[TestClient, list[Exception]]) -> None:
    client, pending = raising
    pending.append(upstream(grpc.StatusCode.FAILED_PRECONDITION, "stale_version", "changed", current_version=7))
    reply = client.get("/boom")
    body = assert_problem(reply, 412, "stale_version")
    assert body["current_version"] == 7
    assert reply.headers["etag"] == 'W/"7"'


def test_extension_members_never_override_standard_ones(raising: tuple[TestClient, list[Exception]]) -> None:
    client, pending = raising
    error = upstream(grpc.StatusCode.ALREADY_EXISTS, "duplicate", "dup")
    error.error.extra = {"status": 200, "detail": "x", "instance": "/elsewhere", "other": 1}
    pending.append(error)
    body = assert_problem(client.get("/boom"), 409, "duplicate")
    assert body["other"] == 1 and body["detail"] == "dup" and body["instance"] == "/boom"


def test_a_conflict_on_one_field_names_it(raising: tuple[TestClient, list[Exception]]) -> None:
    client, pending = raising
    error = upstream(grpc.StatusCode.ALREADY_EXISTS, "slug_taken", "this company identifier is taken", field="slug")
    pending.append(error)
    body = assert_problem(client.get("/boom", headers={"Accept-Language": "zh-CN"}), 409, "slug_taken")
    assert body["errors"] == [{"field": "slug", "code": "slug_taken", "message": "该公司标识已被占用。"}]
    assert "field" not in body and body["title"] == "公司标识已被占用"


def test_unauthenticated_upstream_sends_a_bearer_challenge(raising: tuple[TestClient, list[Exception]]) -> None:
    client, pending = raising
    pending.append(upstream(grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", "token revoked"))
    reply = client.get("/boom")
    assert_problem(reply, 401, "unauthenticated")
    assert 'error="invalid_token"' in reply.headers["www-authenticate"]


def test_rate_limited_and_unavailable_say_when_to_retry(raising: tuple[TestClient, list[Exception]]) -> None:
    client, pending = raising
    pending.append(upstream(grpc.StatusCode.RESOURCE_EXHAUSTED, "rate_limited", "slow down", retry_after=12))
    assert client.get("/boom").headers["retry-after"] == "12"
    pending.append(upstream(grpc.StatusCode.UNAVAILABLE))
    assert client.get("/boom").headers["retry-after"] == "1"


def test_internal_errors_reveal_nothing(raising: tuple[TestClient, list[Exception]]) -> None:
    client, pending = raising
    pending.append(upstream(grpc.StatusCode.INTERNAL, "db_exploded", "password=hunter2 in row 3"))
    body = assert_problem(client.get("/boom"), 500, "internal")
    assert "hunter2" not in json.dumps(body)


def test_field_errors_are_renamed_and_localised(raising: tuple[TestClient, list[Exception]]) -> None:
    client, pending = raising
    errors = [{"field": "admin_display_name", "code": "required", "message": "admin_display_name is required"},
              {"field": "mobile", "code": "invalid_phone", "message": "not a valid phone number"},
              {"field": "x", "code": "some_new_code", "message": "service wording"}]
    error = upstream(grpc.StatusCode.INVALID_ARGUMENT, "invalid_input", "3 field(s) are invalid", errors)
    error.rename = rename_fields({"admin_display_name": "admin_name"})
    pending.append(error)
    zh = assert_problem(client.get("/boom", headers={"Accept-Language": "zh-CN,zh;q=0.9"}), 400, "invalid_input")
    assert zh["title"] == "输入无效" and zh["detail"] == "3 个字段无效。"
    assert [e["field"] for e in zh["errors"]] == ["admin_name", "mobile", "x"]
    assert [e["message"] for e in zh["errors"]] == ["此字段为必填项。", "手机号码无效。", "service wording"]
    pending.append(error)
    en = assert_problem(client.get("/boom", headers={"Accept-Language": "en-US"}), 400, "invalid_input")
    assert en["errors"][1]["message"] == "not a valid phone number"


def _rpc_error(status: grpc.StatusCode, detail: str | None) -> grpc.aio.AioRpcError:
    trailing = Metadata((ERROR_METADATA_KEY, detail)) if detail is not None else Metadata()
    return grpc.aio.AioRpcError(status, Metadata(), trailing, "bare details", None)


def test_raw_rpc_errors_are_decoded_from_trailing_metadata(raising: tuple[TestClient, list[Exception]]) -> None:
    client, pending = raising
    detail = {"code": "invalid_input", "message": "1 field", "errors": [{"field": "email", "code": "invalid_email",
                                                                          "message": "bad"}]}
    pending.append(_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, json.dumps(detail)))
    body = assert_problem(client.get("/boom"), 400, "invalid_input")
    assert body["errors"] == [{"field": "email", "code": "invalid_email", "message": "bad"}]


@pytest.mark.parametrize("detail", [None, "not json", "[1, 2]"])
def test_rpc_errors_without_a_usable_detail_still_map(raising: tuple[TestClient, list[Exception]],
                                                      detail: str | None) -> None:
    client, pending = raising
    pending.append(UpstreamError.from_rpc(_rpc_error(grpc.StatusCode.NOT_FOUND, detail)))
    reply = client.get("/boom")
    assert reply.status_code in (404, 500)
    assert reply.headers["content-type"].startswith("application/problem+json")


def test_an_unhandled_exception_is_a_logged_500_problem(raising: tuple[TestClient, list[Exception]],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    client, pending = raising
    pending.append(RuntimeError("bug"))
    with caplog.at_level(logging.ERROR, logger="crm_gateway.problems"):
        assert_problem(client.get("/boom"), 500, "internal")
    assert any(r.exc_info and "bug" in str(r.exc_info[1]) for r in caplog.records)


# -- the real app: request validation and routing -------------------------------------------------

SIGNUP = {"company_name": "Acme", "slug": "acme", "admin_email": "a@acme.example", "admin_password": "pw-123456",
          "admin_name": "Admin", "locale": "en"}


def test_missing_unknown_and_wrong_typed_fields_are_400_with_the_field(client: TestClient) -> None:
    body = {**SIGNUP, "slug": 5, "company_nmae": "typo"}
    del body["admin_email"]
    problem = assert_problem(client.post("/v1/signup", json=body), 400, "invalid_input")
    by_field = {e["field"]: e["code"] for e in problem["errors"]}
    assert by_field == {"slug": "invalid_type", "admin_email": "required", "company_nmae": "unknown_field"}
    assert problem["detail"] == "3 field(s) are invalid."


@pytest.mark.parametrize("body", [[1, 2], "text", 3, None])
def test_a_body_that_is_not_an_object_is_400(client: TestClient, body: object) -> None:
    assert_problem(client.post("/v1/signup", json=body), 400, "invalid_input")


def test_malformed_json_is_400_malformed_json(client: TestClient) -> None:
    reply = client.post("/v1/signup", content=b'{"slug": "x",', headers={"content-type": "application/json"})
    assert "JSON" in assert_problem(reply, 400, "malformed_json")["detail"]


def test_a_non_json_body_is_415(client: TestClient) -> None:
    reply = client.post("/v1/signup", content=json.dumps(SIGNUP).encode(), headers={"content-type": "text/plain"})
    assert_problem(reply, 415, "unsupported_media_type")


def test_text_protobuf_cannot_encode_is_400_not_500(client: TestClient) -> None:
    raw = json.dumps({**SIGNUP, "company_name": "x"}).replace('"x"', '"\\ud800"').encode()
    problem = assert_problem(client.post("/v1/signup", content=raw, headers={"content-type": "application/json"}),
                             400, "invalid_input")
    assert problem["errors"][0]["field"] == "company_name"


def test_nested_field_paths(client: TestClient, signing_key: ECKey) -> None:
    token = make_token(signing_key, scope="webhooks:manage")
    reply = client.post("/v1/webhook-endpoints", json={"url": "https://x.example", "event_types": ["a", 5]},
                        headers={"Authorization": f"Bearer {token}"})
    problem = assert_problem(reply, 400, "invalid_input")
    assert problem["errors"][0]["field"] == "event_types[1]"


def test_int32_overflow_is_400(client: TestClient, signing_key: ECKey) -> None:
    token = make_token(signing_key, scope="followups:manage tags:read")
    reply = client.post("/v1/cadence-rules", json={"tag_id": "t", "due_in_days": 2**40, "title": "x"},
                        headers={"Authorization": f"Bearer {token}"})
    assert assert_problem(reply, 400, "invalid_input")["errors"][0]["code"] == "out_of_range"


@pytest.mark.parametrize("query", ["page_size=lots", "page_size=0", "page_size=-1", "pagesize=3"])
def test_bad_list_parameters_are_400(client: TestClient, token: str, query: str) -> None:
    reply = client.get(f"/v1/customers?{query}", headers={"Authorization": f"Bearer {token}"})
    assert_problem(reply, 400, "invalid_input")


def test_naive_timestamps_are_rejected(client: TestClient, signing_key: ECKey) -> None:
    token = make_token(signing_key, scope="followups:write")
    reply = client.post("/v1/followup-tasks", json={"customer_id": "c", "title": "t", "due_at": "2030-01-01T09:00:00"},
                        headers={"Authorization": f"Bearer {token}"})
    assert assert_problem(reply, 400, "invalid_input")["errors"][0]["field"] == "due_at"


def test_patch_needs_if_match(client: TestClient, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    assert_problem(client.patch("/v1/customers/c1", json={"name": "x"}, headers=auth), 428, "precondition_required")
    bad = client.patch("/v1/customers/c1", json={"name": "x"}, headers={**auth, "If-Match": "v3"})
    assert assert_problem(bad, 400, "invalid_input")["errors"][0] == {
        "field": "If-Match", "code": "invalid_etag", "message": 'Must be an ETag such as W/"3".'}


def test_unreachable_backend_is_503(client: TestClient, token: str) -> None:
    reply = client.get("/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert_problem(reply, 503, "unavailable")
    assert reply.headers["retry-after"] == "1"


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")
    reply = client.delete("/v1/signup")
    assert_problem(reply, 405, "method_not_allowed")
    assert "POST" in reply.headers["allow"]


def test_problem_types_are_documented(client: TestClient) -> None:
    assert client.get("/problems/invalid_input").status_code == 200
    assert_problem(client.get("/problems/no_such_code"), 404, "not_found")
