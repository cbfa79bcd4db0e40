"""A subscription recipient's access straight from identity, when reporting's projection
(`user_teams`, kept from identity's user events) does not know it yet: a user not changed since
the events began to carry the effective access, or whose events have not arrived. Without this
the first delivery would skip them as `no_access`.

Reporting asks identity's `GetUserAccess` with a service token of the tenant
(crm_platform/service_tokens.py): no user request is behind a scheduled delivery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import grpc

from crm_platform.grpc_client import DEFAULT_DEADLINE, call_metadata
from crm_platform.service_tokens import ServiceTokens
from crm_proto.crm.identity.v1 import identity_pb2


@dataclass(frozen=True)
class Recipient:
    """The attributes of a `user_teams` row the delivery reads, as identity answered them."""

    user_id: uuid.UUID
    unsubscribed_at: datetime | None
    disabled: bool
    email: str
    locale: str
    display_name: str
    access_known: bool = True
    access_scopes: list[str] = field(default_factory=list)
    data_scope: str = "own"
    team_ids: list[str] = field(default_factory=list)
    field_policies: dict[str, str] = field(default_factory=dict)


class IdentityAccess:
    def __init__(self, tokens: ServiceTokens):
        self.tokens = tokens

    async def recipient(self, tenant_id: uuid.UUID, user_id: uuid.UUID, row: Any) -> Recipient | None:
        """The recipient as identity knows them now; None when identity has no such user (deleted).
        Other failures raise, so the delivery job retries later rather than skipping anyone."""
        token = await self.tokens.token(tenant_id)
        try:
            reply = await self.tokens.identity.GetUserAccess(
                identity_pb2.GetUserAccessRequest(user_id=str(user_id)), metadata=call_metadata(token),
                timeout=DEFAULT_DEADLINE)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return Recipient(
            user_id=user_id, unsubscribed_at=getattr(row, "unsubscribed_at", None), disabled=reply.disabled,
            email=reply.email, locale=reply.locale, display_name=reply.display_name,
            access_scopes=list(reply.scopes), data_scope=reply.data_scope or "own", team_ids=list(reply.team_ids),
            field_policies=dict(reply.field_policies))
