"""HMAC-signed values, and the web UI's PKCE login start, callback checks and session cookie."""

from __future__ import annotations

import time
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi.testclient import TestClient

from crm_gateway.settings import GatewaySettings
from crm_gateway.signing import Signer
from crm_gateway.web.session import PKCE_COOKIE, SESSION_COOKIE, WebSession, safe_next

SECRET = "k" * 40


def test_signed_values_round_trip() -> None:
    signer = Signer(SECRET, "pkce")
    value = signer.sign({"v": "verifier", "n": 3}, max_age=60)
    assert signer.verify(value) == {"v": "verifier", "n": 3}


def test_tampering_is_detected() -> None:
    signer = Signer(SECRET, "pkce")
    payload, mac = signer.sign({"v": "a"}, max_age=60).split(".")
    other_payload = Signer(SECRET, "pkce").sign({"v": "b"}, max_age=60).split(".")[0]
    assert signer.verify(f"{other_payload}.{mac}") is None
    assert signer.verify(f"{payload}.{mac[:-2]}AA") is None
    assert signer.verify(f"{payload}.{mac}.extra") is None


def test_a_value_is_only_good_for_its_purpose_and_key() -> None:
    value = Signer(SECRET, "pkce").sign({"v": "a"}, max_age=60)
    assert Signer(SECRET, "session").verify(value) is None
    assert Signer("j" * 40, "pkce").verify(value) is None


def test_signed_values_expire() -> None:
    signer = Signer(SECRET, "flash")
    value = signer.sign({"m": 1}, max_age=10, now=1000.0)
    assert signer.verify(value, now=1009.0) == {"m": 1}
    assert signer.verify(value, now=1010.0) is None


@pytest.mark.parametrize("garbage", [None, "", ".", "abc", "a.b", "ä.ö", "!!!.???", "e30.AAAA"])
def test_garbage_never_verifies(garbage: str | None) -> None:
    assert Signer(SECRET, "pkce").verify(garbage) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/app/customers?q=x", "/app/customers?q=x"),
        ("//evil.example/x", "/app/dashboard"),
        ("https://evil.example", "/app/dashboard"),
        ("/\\evil.example", "/app/dashboard"),
        (None, "/app/dashboard"),
    ],
)
def test_next_is_always_a_local_path(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def _cookie(reply: object, name: str) -> SimpleCookie:
    headers = reply.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    jar: SimpleCookie = SimpleCookie()
    for header in headers:
        if header.startswith(f"{name}="):
            jar.load(header)
    return jar


def test_login_starts_code_flow_with_s256_pkce(client: TestClient, settings: GatewaySettings) -> None:
    reply = client.get("/login?next=/app/customers%3Fq%3Dacme", follow_redirects=False)
    assert reply.status_code == 302
    target = urlsplit(reply.headers["location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert target.path == "/oauth/authorize"
    assert query["response_type"] == "code" and query["client_id"] == "crm-web"
    assert query["redirect_uri"] == "http://testserver/auth/callback"
    assert query["code_challenge_method"] == "S256"

    morsel = _cookie(reply, PKCE_COOKIE)[PKCE_COOKIE]
    assert morsel["httponly"] and morsel["samesite"].lower() == "lax" and morsel["path"] == "/auth/callback"
    pending = Signer(settings.session_secret.get_secret_value(), "pkce").verify(morsel.value)
    assert pending is not None
    assert len(pending["verifier"]) >= 43
    assert create_s256_code_challenge(pending["verifier"]) == query["code_challenge"]
    assert pending["state"] == query["state"] and pending["next"] == "/app/customers?q=acme"


def test_callback_refuses_a_wrong_or_missing_state(client: TestClient) -> None:
    assert client.get("/auth/callback?code=c&state=s").status_code == 400  # no PKCE cookie at all
    login = client.get("/login", follow_redirects=False)
    client.cookies.set(PKCE_COOKIE, _cookie(login, PKCE_COOKIE)[PKCE_COOKIE].value, path="/auth/callback")
    reply = client.get("/auth/callback?code=c&state=forged")
    assert reply.status_code == 400
    assert SESSION_COOKIE not in reply.headers.get("set-cookie", "")
    assert reply.headers["content-type"].startswith("text/html")


def test_pages_without_a_valid_session_redirect_to_login(client: TestClient, settings: GatewaySettings) -> None:
    reply = client.get("/app/customers?q=x", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/login?next=%2Fapp%2Fcustomers%3Fq%3Dx"

    signer = Signer(settings.session_secret.get_secret_value(), "session")
    expired = WebSession(token="t", expires_at=int(time.time()) - 1)
    client.cookies.set(SESSION_COOKIE, signer.sign(expired.__dict__, max_age=60))
    assert client.get("/app/customers", follow_redirects=False).status_code == 303

    client.cookies.set(SESSION_COOKIE, "forged.value")
    assert client.get("/app/customers", follow_redirects=False).status_code == 303


def test_logout_clears_the_session(client: TestClient) -> None:
    reply = client.post("/logout", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/login"
    morsel = _cookie(reply, SESSION_COOKIE)[SESSION_COOKIE]
    assert morsel.value in ("", '""') and morsel["max-age"] == "0"


def test_language_switch_sets_a_cookie_and_stays_local(client: TestClient) -> None:
    reply = client.get("/lang/zh-CN?next=//evil.example", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/app/dashboard"
    assert _cookie(reply, "crm_lang")["crm_lang"].value == "zh-CN"
