"""Real PostgreSQL and NATS JetStream on free ports for this test session, a fresh tenant schema
per test, and the tagging gRPC API served in-process behind the real edge interceptor (tokens
are signed with a test key whose JWKS the verifier is given)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from joserfc import jwt
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.infra import EmbeddedPostgres, NatsServer, free_port
from crm_platform import events, migrations
from crm_platform.auth import ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM, JwksCache, TokenVerifier
from crm_platform.db import create_engine
from crm_platform.grpc_client import call_metadata, channel
from crm_platform.grpc_server import EdgeInterceptor, create_server
from crm_platform.ids import new_id
from crm_platform.pagination import PageTokens
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging.autotag.service import AutoTagService
from crm_tagging.main import DEFINITION
from crm_tagging.servicer import TaggingServicer
from crm_tagging.tag.service import TagService

ISSUER, AUDIENCE = "crm-test", "crm-api"


@dataclass(frozen=True)
class Infra:
    database_url: str
    nats_url: str


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    base = tmp_path_factory.mktemp("tagging-infra")
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    nats_server = NatsServer(base / "nats", free_port(), base / "nats.log")
    postgres.start()
    try:
        nats_server.start()
        postgres.create_database("crm_tagging")
        url = postgres.url("crm_tagging")
        migrations.upgrade_control(url, DEFINITION.control_tree)
        yield Infra(url, nats_server.url)
    finally:
        nats_server.stop()
        postgres.stop()


@pytest_asyncio.fixture(scope="session")
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(infra.database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def nc(infra: Infra) -> AsyncIterator[NATS]:
    client = await events.connect(infra.nats_url, "tagging-tests")
    await events.ensure_stream(client.jetstream())
    yield client
    await client.close()


@pytest.fixture(scope="session")
def provision_tenant(infra: Infra) -> Callable[[], uuid.UUID]:
    """Provisions a new tenant's schema, as identity's sign-up does through the runtime."""

    def provision() -> uuid.UUID:
        tenant = new_id()
        migrations.upgrade_tenant(infra.database_url, DEFINITION.tenant_tree, tenant)
        return tenant

    return provision


@pytest.fixture
def tenant_id(provision_tenant: Callable[[], uuid.UUID]) -> uuid.UUID:
    """A fresh tenant schema per test: each test sees only its own rows."""
    return provision_tenant()


@pytest.fixture(scope="session")
def tag_service() -> TagService:
    return TagService(PageTokens("test-page-token-key"))


@pytest.fixture(scope="session")
def autotag_service(tag_service: TagService) -> AutoTagService:
    return AutoTagService(tag_service)


# -- tokens and the in-process gRPC server --------------------------------------------------

@pytest.fixture(scope="session")
def signing_key() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    return key


TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]


@pytest.fixture(scope="session")
def token_for(signing_key: ECKey) -> TokenFor:
    """Call metadata carrying an access token for the tenant with these scopes."""

    def make(tenant: uuid.UUID, scopes: list[str]) -> tuple[tuple[str, str], ...]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": "client:test", "client_id": "test", "tid": str(tenant),
            "scope": " ".join(scopes), "iat": now, "nbf": now, "exp": now + 600,
        }
        header = {"alg": SIGNING_ALGORITHM, "kid": signing_key.kid, "typ": ACCESS_TOKEN_TYPE}
        return call_metadata(jwt.encode(header, claims, signing_key, algorithms=[SIGNING_ALGORITHM]))

    return make


@pytest_asyncio.fixture(scope="session")
async def tagging(engine: AsyncEngine, signing_key: ECKey, tag_service: TagService,
                  autotag_service: AutoTagService) -> AsyncIterator[tagging_pb2_grpc.TaggingServiceStub]:
    public = {**signing_key.as_dict(private=False), "use": "sig", "alg": SIGNING_ALGORITHM}

    async def fetch_jwks() -> dict[str, Any]:
        return {"keys": [public]}

    verifier = TokenVerifier(JwksCache(fetch_jwks), ISSUER, AUDIENCE)
    server, port = create_server(EdgeInterceptor(verifier), "127.0.0.1", 0)
    tagging_pb2_grpc.add_TaggingServiceServicer_to_server(
        TaggingServicer(engine, tag_service, autotag_service), server
    )
    await server.start()
    client = channel(f"127.0.0.1:{port}")
    yield tagging_pb2_grpc.TaggingServiceStub(client)
    await client.close(None)
    await server.stop(None)

