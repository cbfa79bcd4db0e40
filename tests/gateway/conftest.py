"""Gateway unit tests: the app with no reachable backend (gRPC addresses point at a closed port)
and a token verifier fed by a local signing key. The one real peer is a NATS JetStream server
(the gateway keeps Idempotency-Key records there and will not start without it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from pydantic import SecretStr

from crm_dev.infra import NatsServer, free_port
from crm_gateway.app import create_app
from crm_gateway.settings import GatewaySettings
from crm_platform.auth import JwksCache, TokenVerifier
from tests.gateway.gateway_testkit import AUDIENCE, ISSUER, NOWHERE, make_token


@pytest.fixture(scope="session")
def signing_key() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    return key


@pytest.fixture
def token(signing_key: ECKey) -> str:
    return make_token(signing_key)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base: Path = tmp_path_factory.mktemp("gateway-nats")
    server = NatsServer(base / "store", free_port(), base / "nats.log")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def settings(nats_url: str) -> GatewaySettings:
    return GatewaySettings(
        public_url="http://testserver", session_secret=SecretStr("s" * 40), identity_addr=NOWHERE,
        customers_addr=NOWHERE, tagging_addr=NOWHERE, followups_addr=NOWHERE, reporting_addr=NOWHERE,
        webhooks_addr=NOWHERE,
        token_issuer=ISSUER, token_audience=AUDIENCE, rpc_deadline=2.0, nats_url=nats_url,
    )


@pytest.fixture
def client(settings: GatewaySettings, signing_key: ECKey) -> Iterator[TestClient]:
    public = {"keys": [{**signing_key.as_dict(private=False), "use": "sig", "alg": "ES256"}]}

    async def local_jwks() -> dict[str, Any]:
        return public

    verifier = TokenVerifier(JwksCache(local_jwks), ISSUER, AUDIENCE)
    app = create_app(settings, verifier=verifier)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
