"""OAuth endpoints, the parts decided before identity is asked: request parsing, RFC 6749 error
shapes, and never redirecting before the client is confirmed."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from crm_gateway.oauth.authorize import AuthorizationRequest, ClientError, check_protocol, with_query

FORM = {"content-type": "application/x-www-form-urlencoded"}
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def _token_error(reply: object, status: int, error: str) -> None:
    assert reply.status_code == status, reply.text  # type: ignore[attr-defined]
    assert reply.json()["error"] == error  # type: ignore[attr-defined]
    assert reply.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]


def test_metadata(client: TestClient) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == "http://testserver"
    assert meta["token_endpoint"] == "http://testserver/oauth/token"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert meta["revocation_endpoint"] == "http://testserver/oauth/revoke"
    assert meta["introspection_endpoint"] == "http://testserver/oauth/introspect"
    assert meta["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "none"]
    assert "customers:read" in meta["scopes_supported"] and "system:provision" not in meta["scopes_supported"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password", "username": "u", "password": "p"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "client_id": "c", "code": "x"}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "x", "redirect_uri": "r", "code_verifier": "v"},
         "invalid_request"),
    ],
)
def test_token_request_errors(client: TestClient, data: dict[str, str], error: str) -> None:
    _token_error(client.post("/oauth/token", data=data), 400, error)


def test_token_requests_must_be_form_encoded(client: TestClient) -> None:
    _token_error(client.post("/oauth/token", json={"grant_type": "client_credentials"}), 400, "invalid_request")


def test_repeated_parameters_are_refused(client: TestClient) -> None:
    reply = client.post("/oauth/token", content=b"grant_type=client_credentials&grant_type=password", headers=FORM)
    _token_error(reply, 400, "invalid_request")


def test_client_credentials_need_the_secret(client: TestClient) -> None:
    reply = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "cli_1"})
    _token_error(reply, 401, "invalid_client")


def test_two_client_authentication_methods_are_refused(client: TestClient) -> None:
    reply = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_secret": "s"},
                        auth=("cli_1", "s"))
    _token_error(reply, 400, "invalid_request")


@pytest.mark.parametrize("credentials", ["!!!", base64.b64encode(b"no-colon").decode(),
                                         base64.b64encode(b":secret").decode()])
def test_malformed_basic_credentials(client: TestClient, credentials: str) -> None:
    reply = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {credentials}"})
    _token_error(reply, 401, "invalid_client")
    assert reply.headers["www-authenticate"].startswith("Basic")


def test_identity_down_is_temporarily_unavailable(client: TestClient) -> None:
    reply = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("cli_1", "secret"))
    _token_error(reply, 503, "temporarily_unavailable")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "response_type=code&redirect_uri=https://evil.example/cb",
        "client_id=a&client_id=b&response_type=code",
        "client_id=crm-web&redirect_uri=https://evil.example/cb&response_type=code",
    ],
)
def test_authorize_never_redirects_before_the_client_is_confirmed(client: TestClient, query: str) -> None:
    reply = client.get(f"/oauth/authorize?{query}", follow_redirects=False)
    assert reply.status_code in (400, 503)  # identity is unreachable in these tests
    assert "location" not in reply.headers
    assert reply.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]


def _request(**changes: str) -> AuthorizationRequest:
    values = {"client_id": "crm-web", "redirect_uri": "https://app.example/cb", "response_type": "code",
              "scope": "", "state": "s", "code_challenge": CHALLENGE, "code_challenge_method": "S256", **changes}
    return AuthorizationRequest(**values)


CODE_CLIENT = SimpleNamespace(grant_types=["authorization_code"])


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
    ],
)
def test_protocol_checks(changes: dict[str, str], error: str) -> None:
    with pytest.raises(ClientError) as raised:
        check_protocol(_request(**changes), CODE_CLIENT)
    assert raised.value.error == error


def test_protocol_accepts_s256_and_refuses_clients_without_the_code_grant() -> None:
    check_protocol(_request(), CODE_CLIENT)
    with pytest.raises(ClientError) as raised:
        check_protocol(_request(), SimpleNamespace(grant_types=["client_credentials"]))
    assert raised.value.error == "unauthorized_client"


def test_redirects_keep_the_clients_own_query() -> None:
    assert with_query("https://app.example/cb?tenant=7", {"code": "c d", "state": "", "iss": "x"}) == (
        "https://app.example/cb?tenant=7&code=c+d&iss=x"
    )
