"""Service tokens: a service calling another on the system's own behalf (no user request behind
it, e.g. reporting delivering a subscription at 09:00) authenticates with a token identity mints
for it, never with a header or a bare shared secret on every call (docs/access.md, "Service
tokens").

The service proves itself to identity (`IssueServiceToken`) with its credential: HMAC-SHA256 of
`crm-service-credential:<service>` under the key every service of the deployment already shares
(`CRM_<NAME>_PAGE_TOKEN_KEY`, one Kubernetes Secret), so no new secret has to be distributed.
The token is an ordinary access token of one tenant (`sub` `service:<service>`) with scope
`system:access` only, valid `SERVICE_TOKEN_TTL` seconds; `ServiceTokens` keeps one per tenant
until shortly before it expires."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Final

from crm_platform.grpc_client import DEFAULT_DEADLINE, call_metadata, channel
from crm_proto.crm.identity.v1 import identity_pb2, identity_pb2_grpc

SERVICE_TOKEN_TTL: Final = 300
# Platform services that may ask identity for a service token, and why (least privilege).
SERVICE_TOKEN_CLIENTS: Final = frozenset({
    "reporting",  # a subscription recipient's effective access (crm_reporting/delivery/identity_access.py)
})
_RENEW_BEFORE: Final = 60.0


def service_credential(key: str, service: str) -> str:
    return hmac.new(key.encode(), f"crm-service-credential:{service}".encode(), hashlib.sha256).hexdigest()


def credential_ok(key: str, service: str, credential: str) -> bool:
    return service in SERVICE_TOKEN_CLIENTS and bool(key) and hmac.compare_digest(
        service_credential(key, service), credential)


class ServiceTokens:
    """Service tokens of one service, one per tenant, renewed before they expire."""

    def __init__(self, identity_addr: str, service: str, key: str):
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel(identity_addr))
        self._service = service
        self._credential = service_credential(key, service)
        self._tokens: dict[uuid.UUID, tuple[str, float]] = {}

    async def token(self, tenant_id: uuid.UUID) -> str:
        held = self._tokens.get(tenant_id)
        if held is not None and held[1] - _RENEW_BEFORE > time.monotonic():
            return held[0]
        reply = await self._stub.IssueServiceToken(identity_pb2.IssueServiceTokenRequest(
            service=self._service, credential=self._credential, tenant_id=str(tenant_id)),
            metadata=call_metadata(), timeout=DEFAULT_DEADLINE)
        self._tokens[tenant_id] = (reply.access_token, time.monotonic() + reply.expires_in)
        return str(reply.access_token)

    @property
    def identity(self) -> identity_pb2_grpc.IdentityServiceStub:
        return self._stub
