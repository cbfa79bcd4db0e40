"""Endpoint rules: validation, secret issuing and encryption. Flushes only; the edge commits."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import outbox, telemetry
from crm_platform.access import effective_policy
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.events import proto_data
from crm_platform.ids import new_id, parse_uuid
from crm_proto.crm.events.v1 import events_pb2
from crm_webhooks.delivery import repository as delivery_repository
from crm_webhooks.dispatch import repository as queue
from crm_webhooks.endpoint import repository
from crm_webhooks.endpoint.repository import Endpoint
from crm_webhooks.endpoint.secrets import SecretCipher, new_signing_secret
from crm_webhooks.endpoint.validation import (
    description_errors,
    distinct,
    event_type_errors,
    hidden_field_errors,
    url_errors,
)

log = logging.getLogger(__name__)

SOURCE = "crm/webhooks"
# The event tenant admins are told by (docs/webhooks.md, "Automatic disable").
DISABLED_AGGREGATE, DISABLED_VERB = "webhook_endpoint", "disabled"
DEFAULT_DISABLE_FAILING_AFTER = timedelta(days=5)


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


def restrictions(policies: Mapping[str, str]) -> dict[str, str]:
    """The policies worth storing: fields that are not read_write."""
    return {name: effective_policy(policies, name) for name in policies
            if effective_policy(policies, name) != "read_write"}


def effective_policies(endpoint: Endpoint) -> dict[str, str]:
    """What is applied to the endpoint's customer payloads: its token's policies, with the
    endpoint's own hidden fields hidden."""
    return {**endpoint.field_policies, **dict.fromkeys(endpoint.hidden_fields, "hidden")}


class EndpointService:
    def __init__(
        self, cipher: SecretCipher, *, allow_private_targets: bool,
        disable_failing_after: timedelta = DEFAULT_DISABLE_FAILING_AFTER,
    ):
        self.cipher = cipher
        self.allow_private_targets = allow_private_targets
        self.disable_failing_after = disable_failing_after

    async def create(
        self, session: AsyncSession, tenant_id: uuid.UUID, *, url: str, event_types: Sequence[str],
        hidden_fields: Sequence[str] = (), field_policies: Mapping[str, str] | None = None, set_by: str = "",
        description: str = "",
    ) -> CreatedEndpoint:
        """`field_policies`: the creating token's (`Principal.field_policies`); an endpoint never
        sends more than its creator may see."""
        url = url.strip()
        event_types = distinct([value.strip() for value in event_types])
        hidden = distinct([value.strip() for value in hidden_fields])
        errors = (url_errors(url, allow_private=self.allow_private_targets) + event_type_errors(event_types)
                  + hidden_field_errors(hidden) + description_errors(description.strip()))
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
            field_policies=restrictions(field_policies or {}),
            hidden_fields=hidden,
            policies_set_by=set_by,
            description=description.strip(),
        )
        log.info("webhook endpoint created", extra=telemetry.log_fields(endpoint_id=str(endpoint_id)))
        return CreatedEndpoint(endpoint, secret)

    async def list_all(self, session: AsyncSession) -> list[Endpoint]:
        return await repository.list_all(session)

    async def get(self, session: AsyncSession, raw_id: str) -> Endpoint:
        found = await repository.get(session, parse_uuid(raw_id, "endpoint"))
        if found is None:
            raise NotFound("endpoint not found")
        return found

    async def update(
        self, session: AsyncSession, raw_id: str, *, url: str | None = None, event_types: Sequence[str] | None = None,
        enabled: bool | None = None, hidden_fields: Sequence[str] | None = None,
        field_policies: Mapping[str, str] | None = None, set_by: str = "", description: str | None = None,
    ) -> Endpoint:
        """Changes what is sent (None leaves a value as it is). The endpoint's field policies are
        always replaced by the updating token's: the admin who changes an endpoint answers for it."""
        current = await self.get(session, raw_id)
        endpoint_id = current.id
        values: dict[str, Any] = {"field_policies": restrictions(field_policies or {}), "policies_set_by": set_by}
        errors: list[FieldError] = []
        if url is not None:
            values["url"] = url.strip()
            errors += url_errors(values["url"], allow_private=self.allow_private_targets)
        if event_types is not None:
            values["event_types"] = distinct([value.strip() for value in event_types])
            errors += event_type_errors(values["event_types"])
        if hidden_fields is not None:
            values["hidden_fields"] = distinct([value.strip() for value in hidden_fields])
            errors += hidden_field_errors(values["hidden_fields"])
        if description is not None:
            values["description"] = description.strip()
            errors += description_errors(values["description"])
        if enabled is not None and enabled != current.enabled:
            values["enabled"] = enabled
            # Re-enabled: a clean slate (the failure clock starts again with the next failure).
            values |= ({"disabled_reason": None, "disabled_at": None, "failing_since": None} if enabled
                       else {"disabled_reason": "manual", "disabled_at": sa.func.now()})
        if errors:
            raise InvalidInput(errors)
        updated = await repository.update(session, endpoint_id, values)
        if updated is None:
            raise NotFound("endpoint not found")
        if enabled is False and current.enabled:
            await self._stop_sending(session, endpoint_id)
        log.info("webhook endpoint updated", extra=telemetry.log_fields(endpoint_id=str(endpoint_id)))
        return updated

    async def rotate_secret(self, session: AsyncSession, tenant_id: uuid.UUID, raw_id: str) -> CreatedEndpoint:
        """A new signing secret, returned once. Attempts read the secret when they start, so every
        attempt from this commit on is signed with the new one (receivers must switch at once)."""
        endpoint_id = (await self.get(session, raw_id)).id
        secret = new_signing_secret()
        updated = await repository.update(session, endpoint_id, {
            "secret_encrypted": self.cipher.encrypt(secret, tenant_id=tenant_id, endpoint_id=endpoint_id),
        })
        if updated is None:
            raise NotFound("endpoint not found")
        log.info("webhook endpoint secret rotated", extra=telemetry.log_fields(endpoint_id=str(endpoint_id)))
        return CreatedEndpoint(updated, secret)

    async def delete(self, session: AsyncSession, raw_id: str) -> int:
        """Deletes an endpoint: deliveries still waiting are cancelled, nothing more is sent, its
        secret is destroyed; afterwards it is 404 everywhere. Returns how many were cancelled."""
        endpoint_id = (await self.get(session, raw_id)).id
        cancelled = await delivery_repository.stop_endpoint(
            session, endpoint_id, status="cancelled", error="endpoint deleted"
        )
        await queue.remove_endpoint(session, endpoint_id)
        await repository.delete(session, endpoint_id)
        log.info("webhook endpoint deleted", extra=telemetry.log_fields(endpoint_id=str(endpoint_id),
                                                                       cancelled=cancelled))
        return cancelled

    async def _stop_sending(self, session: AsyncSession, endpoint_id: uuid.UUID) -> int:
        """Disabled: waiting deliveries become dead letters (replayable once re-enabled)."""
        dead = await delivery_repository.stop_endpoint(session, endpoint_id, status="dead", error="endpoint disabled")
        await queue.remove_endpoint(session, endpoint_id)
        return dead

    # -- health: automatic disable ----------------------------------------------------------------
    async def note_success(self, session: AsyncSession, endpoint_id: uuid.UUID) -> None:
        await repository.mark_healthy(session, endpoint_id)

    async def note_failure(
        self, session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, status_code: int | None,
        error: str,
    ) -> bool:
        """After a failed attempt. An endpoint whose attempts have all failed for
        `disable_failing_after` is disabled (reason "failing"), its waiting deliveries become dead
        letters, and `crm.webhook_endpoint.disabled` goes into the outbox in the same transaction
        (the hook for telling tenant admins). Returns True when it was disabled now."""
        failing = await repository.mark_failing(session, endpoint_id, self.disable_failing_after)
        if failing is None or not failing.overdue:
            return False
        disabled = await repository.update(session, endpoint_id, {
            "enabled": False, "disabled_reason": "failing", "disabled_at": sa.func.now(),
        })
        if disabled is None:
            return False
        dead = await self._stop_sending(session, endpoint_id)
        data = events_pb2.WebhookEndpointDisabled(
            endpoint_id=str(endpoint_id), url=disabled.url, reason="failing",
            failing_since=_rfc3339(failing.failing_since), disabled_at=_rfc3339(disabled.disabled_at),
            last_status_code=status_code or 0, last_error=error, deliveries_dead_lettered=dead,
        )
        await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate=DISABLED_AGGREGATE,
                               verb=DISABLED_VERB, data=proto_data(data), subject_id=str(endpoint_id))
        log.warning("webhook endpoint disabled after failing", extra=telemetry.log_fields(
            endpoint_id=str(endpoint_id), failing_since=_rfc3339(failing.failing_since), dead_lettered=dead))
        return True

    async def find(self, session: AsyncSession, endpoint_id: uuid.UUID) -> Endpoint | None:
        return await repository.get(session, endpoint_id)

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


def _rfc3339(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")
