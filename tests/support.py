"""Shared test harness for service-level tests: real PostgreSQL and NATS on free ports, test
signing keys and access tokens, and a service's gRPC API served in-process behind the real edge
interceptor."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from joserfc import jwt
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.infra import EmbeddedPostgres, NatsServer, free_port
from crm_dev.smtp_sink import SmtpSink
from crm_platform import events, migrations
from crm_platform.auth import ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM, JwksCache, Principal, TokenVerifier
from crm_platform.customer_scope import CustomerFacts
from crm_platform.db import create_engine
from crm_platform.grpc_client import call_metadata, channel
from crm_platform.grpc_server import EdgeInterceptor, create_server
from crm_platform.ids import new_id
from crm_platform.runtime import ServiceDefinition

ISSUER, AUDIENCE = "crm-test", "crm-api"


@dataclass(frozen=True)
class Infra:
    database_url: str
    nats_url: str


@contextmanager
def running_infra(base: Path, database: str, control_tree: Path | None) -> Iterator[Infra]:
    """Postgres with one migrated service database, and NATS with JetStream, until the block ends."""
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    nats_server = NatsServer(base / "nats", free_port(), base / "nats.log")
    postgres.start()
    try:
        nats_server.start()
        postgres.create_database(database)
        url = postgres.url(database)
        migrations.upgrade_control(url, control_tree)
        yield Infra(url, nats_server.url)
    finally:
        nats_server.stop()
        postgres.stop()


def new_signing_key() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    return key


def access_token(key: ECKey, tenant: uuid.UUID, scopes: list[str], **claims: Any) -> str:
    """An RFC 9068 access token as identity would issue it, signed with a test key."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "client:test",
        "client_id": "test",
        "tid": str(tenant),
        "scope": " ".join(scopes),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **claims,
    }
    header = {"alg": SIGNING_ALGORITHM, "kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
    return jwt.encode(header, body, key, algorithms=[SIGNING_ALGORITHM])


@asynccontextmanager
async def in_process_server(key: ECKey, register: Callable[[grpc.aio.Server], None]) -> AsyncIterator[grpc.aio.Channel]:
    """Serves the servicers `register` adds, behind the real edge interceptor whose verifier
    trusts `key`; yields a channel to it."""
    public = {**key.as_dict(private=False), "use": "sig", "alg": SIGNING_ALGORITHM}

    async def fetch_jwks() -> dict[str, Any]:
        return {"keys": [public]}

    server, port = create_server(
        EdgeInterceptor(TokenVerifier(JwksCache(fetch_jwks), ISSUER, AUDIENCE)), "127.0.0.1", 0
    )
    register(server)
    await server.start()
    client = channel(f"127.0.0.1:{port}")
    try:
        yield client
    finally:
        await client.close(None)
        await server.stop(None)


# -- fixtures for service-level test packages ------------------------------------------------
# A package's conftest defines `service_definition` (its ServiceDefinition); these provide
# the rest, once per package (each package gets its own
# database). Registered for the whole tree by `pytest_plugins` in tests/conftest.py.


@pytest.fixture(scope="package")
def infra(tmp_path_factory: pytest.TempPathFactory, service_definition: ServiceDefinition) -> Iterator[Infra]:
    name = service_definition.name
    with running_infra(
        tmp_path_factory.mktemp(f"{name}-infra"), f"crm_{name}", service_definition.control_tree
    ) as infra:
        yield infra


@pytest_asyncio.fixture(scope="package")
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(infra.database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(scope="package")
async def nc(infra: Infra, service_definition: ServiceDefinition) -> AsyncIterator[NATS]:
    client = await events.connect(infra.nats_url, f"{service_definition.name}-tests")
    await events.ensure_stream(client.jetstream())
    yield client
    await client.close()


@pytest.fixture(scope="package")
def provision_tenant(infra: Infra, service_definition: ServiceDefinition) -> Callable[[], uuid.UUID]:
    """Provisions a new tenant's schema, as identity's sign-up does through the runtime."""

    def provision() -> uuid.UUID:
        tenant = new_id()
        migrations.upgrade_tenant(infra.database_url, service_definition.tenant_tree, tenant)
        return tenant

    return provision


@pytest.fixture
def tenant_id(provision_tenant: Callable[[], uuid.UUID]) -> uuid.UUID:
    """A fresh tenant schema per test: each test sees only its own rows."""
    return provision_tenant()


@dataclass(frozen=True)
class SmtpServer:
    """A real local SMTP server (no TLS, no login) and the Maildir it delivers into."""

    port: int
    maildir: Path


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    maildir = tmp_path_factory.mktemp("smtp") / "mail"
    sink = SmtpSink(maildir, free_port())
    sink.start()
    try:
        yield SmtpServer(sink.port, maildir)
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def signing_key() -> ECKey:
    return new_signing_key()


TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]


@pytest.fixture(scope="session")
def token_for(signing_key: ECKey) -> TokenFor:
    """Call metadata carrying an access token for the tenant with these scopes."""

    def make(tenant: uuid.UUID, scopes: list[str]) -> tuple[tuple[str, str], ...]:
        return call_metadata(access_token(signing_key, tenant, scopes))

    return make


# -- a stand-in for the customers service's answer about one customer -------------------------


@dataclass
class Customers:
    """Stands in for the customers service's answer to `GetCustomer` with the caller's token (the
    `CustomerDirectory` followups asks when its projection does not know a customer or says no):
    declared customers follow the data-scope rule of customers (tenant, owner, deleted); an id
    nobody declared is an existing customer of the caller's tenant visible to data scope `all`
    (the tests that do not care about scope), and to nobody else. The real service answers in
    tests/e2e."""

    declared: dict[uuid.UUID, tuple[uuid.UUID, CustomerFacts]] = field(default_factory=dict)
    asked: list[uuid.UUID] = field(default_factory=list)

    def declare(self, tenant_id: uuid.UUID, customer_id: uuid.UUID, owner_id: uuid.UUID | None,
                deleted: bool = False, version: int = 1) -> CustomerFacts:
        facts = CustomerFacts(customer_id, owner_id, deleted, version)
        self.declared[customer_id] = (tenant_id, facts)
        return facts

    async def lookup(self, principal: Principal, customer_id: uuid.UUID) -> tuple[bool, CustomerFacts | None]:
        self.asked.append(customer_id)
        entry = self.declared.get(customer_id)
        if entry is None:
            return principal.data_scope == "all", None
        tenant_id, facts = entry
        if tenant_id != principal.tenant_id or facts.deleted:
            return False, None
        if principal.data_scope != "all" and facts.owner_id != principal.user_id:
            return False, None  # team scope is not modelled here; the projection's rule is tested
        return True, facts
