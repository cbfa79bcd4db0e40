"""Endpoint rules: validation, secret issuing and encryption. Flushes only; the edge commits."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import telemetry
from crm_platform.errors import InvalidInput, NotFound
from crm_platform.ids import new_id, parse_uuid
from crm_webhooks.endpoint import repository
from crm_webhooks.endpoint.repository import Endpoint
from crm_webhooks.endpoint.secrets import SecretCipher, new_signing_secret
from crm_webhooks.endpoint.validation import distinct, event_type_errors, url_errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: Endpoint
    # Returned to the caller once and never again; kept out of reprs so it cannot reach a log.
    secret: str = field(repr=False)


@dataclass(frozen=True)
class DeliveryTarget:
    """What the sender needs to deliver to an endpoint."""

    endpoint_id: uuid.UUID
    url: str
    enabled: bool
    secret: str = field(repr=False)


class EndpointService:
    def __init__(self, cipher: SecretCipher, *, allow_private_targets: bool):
        self.cipher = cipher
        self.allow_private_targets = allow_private_targets

    async def create(
        self, session: AsyncSession, tenant_id: uuid.UUID, *, url: str, event_types: Sequence[str]
    ) -> CreatedEndpoint:
        url = url.strip()
        event_types = distinct([value.strip() for value in event_types])
        errors = url_errors(url, allow_private=self.allow_private_targets) + event_type_errors(event_types)
        if errors:
            raise InvalidInput(errors)
        endpoint_id = new_id()
        secret = new_signing_secret()
        endpoint = await repository.insert(
            session,
            endpoint_id=endpoint_id,
            url=url,
            secret_encrypted=self.cipher.encrypt(secret, tenant_id=tenant_id, endpoint_id=endpoint_id),
            event_types=event_types,
        )
        log.info("webhook endpoint created", extra=telemetry.log_fields(endpoint_id=str(endpoint_id)))
        return CreatedEndpoint(endpoint, secret)

    async def list_all(self, session: AsyncSession) -> list[Endpoint]:
        return await repository.list_all(session)

    async def require_id(self, session: AsyncSession, raw_id: str) -> uuid.UUID:
        """An endpoint id from outside that names an endpoint of this tenant, else NotFound."""
        endpoint_id = parse_uuid(raw_id, "endpoint")
        if not await repository.exists(session, endpoint_id):
            raise NotFound("endpoint not found")
        return endpoint_id

    async def subscribed_to(self, session: AsyncSession, event_type: str) -> list[Endpoint]:
        return await repository.list_enabled_for_event_type(session, event_type)

    async def delivery_target(
        self, session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
    ) -> DeliveryTarget | None:
        stored = await repository.get_stored(session, endpoint_id)
        if stored is None:
            return None
        secret = self.cipher.decrypt(stored.secret_encrypted, tenant_id=tenant_id, endpoint_id=endpoint_id)
        return DeliveryTarget(endpoint_id, stored.endpoint.url, stored.endpoint.enabled, secret)
