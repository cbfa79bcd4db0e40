"""The bearer dependency: bad tokens stop at the door with a 401 and a Bearer challenge; good
ones pass through to the services (here: none reachable, so 503)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from tests.gateway.gateway_testkit import assert_problem, make_token


def test_no_token_is_401_with_a_challenge(client: TestClient) -> None:
    reply = client.get("/v1/customers")
    assert_problem(reply, 401, "unauthenticated")
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert "error=" not in reply.headers["www-authenticate"]  # RFC 6750 §3.1: no error without credentials


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 3600},
        {"aud": "someone-else"},
        {"iss": "http://impostor"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer"],
)
def test_invalid_claims_are_401(client: TestClient, signing_key: ECKey, overrides: dict[str, object]) -> None:
    reply = client.get("/v1/customers", headers={"Authorization": f"Bearer {make_token(signing_key, **overrides)}"})
    assert_problem(reply, 401, "invalid_token")
    assert 'error="invalid_token"' in reply.headers["www-authenticate"]


@pytest.mark.parametrize(
    "header",
    [{"typ": "JWT"}, {"kid": "unknown-key"}],
    ids=["not-an-access-token", "unknown-key"],
)
def test_bad_headers_are_401_not_500(client: TestClient, signing_key: ECKey, header: dict[str, object]) -> None:
    reply = client.get("/v1/customers", headers={"Authorization": f"Bearer {make_token(signing_key, header=header)}"})
    assert_problem(reply, 401, "invalid_token")


def test_a_non_string_typ_is_401_not_500(client: TestClient, signing_key: ECKey) -> None:
    # crm_platform.auth.TokenVerifier calls header["typ"].lower() unguarded; the gateway must not crash.
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    _, payload, signature = make_token(signing_key).split(".")
    forged = f"{b64({'alg': 'ES256', 'kid': signing_key.kid, 'typ': 5})}.{payload}.{signature}"
    assert_problem(client.get("/v1/customers", headers={"Authorization": f"Bearer {forged}"}), 401, "invalid_token")


def test_a_token_signed_by_another_key_is_401(client: TestClient) -> None:
    other = ECKey.generate_key("P-256", private=True)
    other.ensure_kid()
    reply = client.get("/v1/customers", headers={"Authorization": f"Bearer {make_token(other)}"})
    assert_problem(reply, 401, "invalid_token")


@pytest.mark.parametrize("value", ["Bearer", "Bearer    ", "Basic abc", "Bearer a.b", "Bearer !!!.@@@.###"])
def test_garbage_authorization_headers(client: TestClient, value: str) -> None:
    reply = client.get("/v1/customers", headers={"Authorization": value})
    assert reply.status_code == 401
    assert reply.headers["content-type"].startswith("application/problem+json")


def test_scopes_are_checked_at_the_gateway_before_the_body(client: TestClient, token: str,
                                                          signing_key: ECKey) -> None:
    """The declared scopes (x-required-scopes) stop a call at the gateway with 403, before the body
    is validated (the scope matrix found 400s answering callers without the scope); a token with
    them reaches the service (unreachable here: 503), which checks them again."""
    def auth(raw: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {raw}"}

    denied = assert_problem(client.get("/v1/reports/customers-by-industry", headers=auth(token)), 403,
                            "permission_denied")
    assert denied["missing_scopes"] == ["reports:read"]
    assert assert_problem(client.post("/v1/tags", json={}, headers=auth(token)), 403,
                          "permission_denied")["missing_scopes"] == ["tags:manage"]
    reader = make_token(signing_key, scope="reports:read")
    assert_problem(client.get("/v1/reports/customers-by-industry", headers=auth(reader)), 503, "unavailable")
    # Reading roles needs roles:manage or users:manage (x-any-scope).
    assert_problem(client.get("/v1/roles", headers=auth(make_token(signing_key, scope="users:manage"))), 503,
                   "unavailable")
    assert assert_problem(client.get("/v1/roles", headers=auth(token)), 403, "permission_denied")[
        "missing_scopes"] == ["roles:manage", "users:manage"]


def test_public_operations_need_no_token(client: TestClient) -> None:
    assert client.get("/.well-known/oauth-authorization-server").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
    assert_problem(client.get("/readyz"), 503, "unavailable")
