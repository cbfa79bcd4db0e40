"""Sensitive fields through the customers gRPC API against real Postgres: stored encrypted (the raw
row never holds the plaintext), masked in replies and outbox events, found by blind index, revealed
only with customers:reveal, every reveal audited."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import tenant_schema
from crm_proto.crm.customers.v1 import customers_pb2 as pb

ID = "11010519491231002X"
CARD = "6222021234561236"
ALL_AND_REVEAL = ["customers:read", "customers:write", "customers:admin", "customers:reveal"]


async def _create(customers, meta, **extra):  # type: ignore[no-untyped-def]
    return await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="张三", mobile="13800138000", **extra)), metadata=meta)


async def _raw_row(engine: AsyncEngine, tenant_id: uuid.UUID, customer_id: str) -> dict:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        row = (await conn.execute(sa.text(
            f'SELECT * FROM "{tenant_schema(tenant_id)}".customers WHERE id = :id'), {"id": customer_id})).one()
    return dict(row._mapping)


async def test_stored_encrypted_and_masked_everywhere(customers, as_user, engine: AsyncEngine,
                                                      tenant_id: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    meta = as_user()
    c = await _create(customers, meta, resident_id="110105 19491231 002x", bank_card="6222 0212 3456 1236")
    assert c.resident_id == "110***********002X" and c.bank_card == "6222 **** **** 1236"
    raw = await _raw_row(engine, tenant_id, c.id)
    dumped = repr(raw) + bytes(raw["resident_id_enc"]).hex() + bytes(raw["bank_card_enc"]).hex()
    for secret in (ID, ID.lower(), CARD, "0212345612"):
        assert secret not in dumped
        assert secret.encode() not in bytes(raw["resident_id_enc"]) + bytes(raw["bank_card_enc"])
    async with engine.connect() as conn:
        payloads = (await conn.execute(sa.text(
            "SELECT payload FROM control.outbox WHERE tenant_id = :t"), {"t": tenant_id})).scalars().all()
    created = [json.loads(p) if isinstance(p, str) else p for p in payloads]
    text = json.dumps(created, ensure_ascii=False)
    assert ID not in text and CARD not in text and "110***********002X" in text
    got = await customers.GetCustomer(pb.GetCustomerRequest(id=c.id), metadata=meta)
    assert got.resident_id == "110***********002X" and got.bank_card == "6222 **** **** 1236"


async def test_lookup_by_blind_index(customers, as_user) -> None:  # type: ignore[no-untyped-def]
    meta = as_user()
    a = await _create(customers, meta, resident_id=ID)
    await _create(customers, meta, resident_id="110105194912310011")
    found = await customers.ListCustomers(pb.ListCustomersRequest(resident_id="11010519491231002x"), metadata=meta)
    assert [x.id for x in found.items] == [a.id]
    none = await customers.ListCustomers(pb.ListCustomersRequest(bank_card=CARD), metadata=meta)
    assert list(none.items) == []
    junk = await customers.ListCustomers(pb.ListCustomersRequest(resident_id="junk"), metadata=meta)
    assert list(junk.items) == []


async def test_invalid_values_are_field_errors(customers, as_user) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _create(customers, as_user(), resident_id="110105194912310021", bank_card="4111111111111112")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    detail = dict(caught.value.trailing_metadata())["crm-error"]
    assert "resident_id_checksum" in detail and "bank_card_checksum" in detail


async def test_update_changes_and_clears(customers, as_user, engine: AsyncEngine,
                                         tenant_id: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    meta = as_user()
    c = await _create(customers, meta, bank_card=CARD)
    same = await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=c.id, customer=pb.CustomerInput(bank_card="6222-0212-3456-1236"), expected_version=1), metadata=meta)
    assert same.version == 1  # the same value by blind index: nothing changed
    changed = await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=c.id, customer=pb.CustomerInput(bank_card="4111111111111111", resident_id=ID), expected_version=1),
        metadata=meta)
    assert changed.version == 2 and changed.bank_card == "4111 **** **** 1111"
    cleared = await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=c.id, customer=pb.CustomerInput(bank_card=""), expected_version=2), metadata=meta)
    assert cleared.bank_card == "" and cleared.resident_id == "110***********002X"
    raw = await _raw_row(engine, tenant_id, c.id)
    assert raw["bank_card_enc"] is None and raw["bank_card_bidx"] is None


async def test_reveal_needs_scope_and_is_audited(customers, as_user, engine: AsyncEngine,
                                                 tenant_id: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    c = await _create(customers, as_user(), resident_id=ID)
    request = pb.RevealCustomerRequest(id=c.id, fields=["resident_id", "bank_card"])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await customers.RevealCustomer(request, metadata=as_user())
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    meta = (*as_user(ALL_AND_REVEAL), ("x-forwarded-for", "203.0.113.7"), ("x-client-user-agent", "pytest/1"))
    reply = await customers.RevealCustomer(request, metadata=meta)
    assert dict(reply.values) == {"resident_id": ID, "bank_card": ""}
    schema = tenant_schema(tenant_id)
    async with engine.connect() as conn:
        [audit] = (await conn.execute(sa.text(f'SELECT * FROM "{schema}".reveal_audit'))).all()
        events = (await conn.execute(sa.text(
            "SELECT payload FROM control.outbox WHERE tenant_id = :t AND subject LIKE '%.customer.revealed'"),
            {"t": tenant_id})).scalars().all()
    assert str(audit.customer_id) == c.id and audit.fields == ["resident_id", "bank_card"]
    assert audit.ip == "203.0.113.7" and audit.user_agent == "pytest/1" and audit.actor
    [event] = [json.loads(e) if isinstance(e, str) else e for e in events]
    assert event["type"] == "crm.customer.revealed"
    assert event["data"] == {"customer_id": c.id, "fields": ["resident_id", "bank_card"], "actor": audit.actor,
                             "client_id": audit.client_id, "ip": "203.0.113.7", "user_agent": "pytest/1"}
    assert ID not in json.dumps(event)
    async with engine.connect() as conn:  # append-only
        with pytest.raises(Exception, match="append-only"):
            await conn.execute(sa.text(f'DELETE FROM "{schema}".reveal_audit'))


async def test_reveal_rejects_unknown_fields_and_missing_customer(customers, as_user) -> None:  # type: ignore[no-untyped-def]
    meta = as_user(ALL_AND_REVEAL)
    c = await _create(customers, meta)
    for fields in ([], ["name"]):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await customers.RevealCustomer(pb.RevealCustomerRequest(id=c.id, fields=fields), metadata=meta)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await customers.RevealCustomer(pb.RevealCustomerRequest(id=str(uuid.uuid4()), fields=["bank_card"]),
                                       metadata=meta)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
