"""Sign-up provisions the tenant in every service before identity answers, which takes longer than
an ordinary call on a busy machine. The gateway used its ordinary deadline (5 s in production) and
answered 503 while identity went on to create the tenant: a half-finished sign-up the user could not
see. Here identity is a slow gRPC peer that answers after more than the gateway's ordinary deadline."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from crm_dev.infra import free_port
from crm_gateway.app import create_app
from crm_gateway.settings import GatewaySettings
from crm_proto.crm.identity.v1 import identity_pb2 as pb
from crm_proto.crm.identity.v1 import identity_pb2_grpc

SLOWER_THAN_DEADLINE = 1.0  # seconds beyond the gateway's ordinary rpc_deadline


class SlowIdentity(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, delay: float):
        self.delay = delay

    async def CreateTenant(self, request: pb.CreateTenantRequest, context: Any) -> pb.CreateTenantResponse:
        await asyncio.sleep(self.delay)
        tenant = pb.Tenant(id=str(uuid.uuid4()), slug=request.slug, name=request.name, status=pb.TENANT_STATUS_ACTIVE,
                           default_locale="en", time_zone="UTC")
        tenant.created_at.GetCurrentTime()
        admin = pb.User(id=str(uuid.uuid4()), email=request.admin_email, display_name=request.admin_display_name,
                        roles=["tenant_admin"], version=1)
        admin.created_at.GetCurrentTime()
        return pb.CreateTenantResponse(tenant=tenant, admin=admin)


@pytest.fixture
def slow_identity(settings: GatewaySettings) -> Iterator[str]:
    """A gRPC identity on its own loop in a thread; yields its address."""
    address = f"127.0.0.1:{free_port()}"
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        server = grpc.aio.server()
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            SlowIdentity(settings.rpc_deadline + SLOWER_THAN_DEADLINE), server)
        server.add_insecure_port(address)
        await server.start()
        started.set()
        await stop.wait()
        await server.stop(None)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield address
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


def test_signup_outlasts_the_ordinary_deadline(settings: GatewaySettings, slow_identity: str) -> None:
    app = create_app(settings.model_copy(update={"identity_addr": slow_identity}))
    with TestClient(app, raise_server_exceptions=False) as client:
        started = time.monotonic()
        reply = client.post("/v1/signup", json={
            "company_name": "Slow Provisioning Ltd", "slug": f"slow-{uuid.uuid4().hex[:8]}",
            "admin_email": "admin@slow.example.com", "admin_password": "a-long-enough-passphrase-1",
            "admin_name": "Admin",
        })
        took = time.monotonic() - started
    assert took > settings.rpc_deadline  # identity really answered after the ordinary deadline
    assert reply.status_code == 201, reply.text
    assert reply.json()["tenant"]["name"] == "Slow Provisioning Ltd"
