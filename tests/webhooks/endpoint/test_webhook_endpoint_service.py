"""Creating and listing endpoints against a real PostgreSQL tenant schema."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput, NotFound
from crm_webhooks.endpoint.secrets import signing_key
from crm_webhooks.endpoint.tables import endpoints
from crm_webhooks.main import Components


async def test_create_returns_the_secret_once_and_stores_only_ciphertext(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components
) -> None:
    service = components.endpoint_service
    async with tenant_session(engine, tenant_id) as session:
        created = await service.create(
            session, tenant_id, url=" https://hooks.example.com/crm ",
            event_types=["crm.customer.created", "crm.customer.created", "crm.tag.applied"],
        )
    assert created.secret.startswith("whsec_")
    assert created.secret not in repr(created)
    assert created.endpoint.url == "https://hooks.example.com/crm"
    assert created.endpoint.event_types == ["crm.customer.created", "crm.tag.applied"]
    assert created.endpoint.enabled

    async with tenant_session(engine, tenant_id) as session:
        stored = (await session.execute(sa.select(endpoints))).one()
        listed = await service.list_all(session)
        target = await service.delivery_target(session, tenant_id, created.endpoint.id)
    # What a dump of the database holds reveals neither the secret nor its HMAC key.
    assert created.secret.encode() not in stored.secret_encrypted
    assert signing_key(created.secret) not in stored.secret_encrypted
    assert [e.id for e in listed] == [created.endpoint.id]
    assert target is not None and target.secret == created.secret


async def test_bad_input_writes_nothing_and_names_every_field(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components
) -> None:
    with pytest.raises(InvalidInput) as failure:
        async with tenant_session(engine, tenant_id) as session:
            await components.endpoint_service.create(
                session, tenant_id, url="ftp://x.example.com", event_types=["crm.customer.created", "nope"]
            )
    assert [(e.field, e.code) for e in failure.value.errors] == [
        ("url", "invalid_url"), ("event_types[1]", "invalid_event_type"),
    ]
    async with tenant_session(engine, tenant_id) as session:
        assert await components.endpoint_service.list_all(session) == []


async def test_require_id_hides_unknown_and_malformed_ids(
    engine: AsyncEngine, tenant_id: uuid.UUID, components: Components
) -> None:
    async with tenant_session(engine, tenant_id) as session:
        for raw in ("not-a-uuid", str(uuid.uuid4())):
            with pytest.raises(NotFound):
                await components.endpoint_service.require_id(session, raw)
