"""Helpers for the gateway's unit tests: locally signed access tokens and problem assertions."""

from __future__ import annotations

import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

ISSUER = "http://testserver"
AUDIENCE = "crm-api"
# Nothing listens on the discard port: every gRPC call fails fast with UNAVAILABLE.
NOWHERE = "127.0.0.1:9"


def make_token(key: ECKey, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "client_id": "crm-web", "tid": str(uuid.uuid4()),
        "uid": str(uuid.uuid4()), "scope": "customers:read customers:write", "roles": ["tenant_admin"],
        "iat": now, "exp": now + 600, "jti": str(uuid.uuid4()),
    }
    body.update(claims)
    head = {"alg": "ES256", "kid": key.kid, "typ": "at+jwt", **(header or {})}
    return jwt.encode(head, body, key, algorithms=["ES256"])


def assert_problem(reply: Any, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = reply.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["type"].endswith(f"/problems/{code}") and body["title"] and body["detail"]
    assert body["instance"] == reply.request.url.path
    assert "trace_id" in body and isinstance(body["errors"], list)
    return body
