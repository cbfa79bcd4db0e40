"""Customer code patterns: validation, rendering, and the sequence kept per rendered prefix."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer import codes
from crm_customers.settings import service as settings
from crm_platform.db import tenant_session
from crm_proto.crm.customers.v1 import customers_pb2 as pb


@pytest.mark.parametrize("pattern", [
    "{region}-{industry}-{year}-{seq:03}", "CUS-{year}-{seq:06}", "{yy}{month}{day}{seq}", "A/{seq:02}",
])
def test_valid_patterns(pattern: str) -> None:
    assert settings.pattern_errors(pattern) == []


@pytest.mark.parametrize("pattern", [
    "", "{region}-{year}", "{seq}{seq}", "{city}-{seq}", "{year:04}-{seq}", "A B {seq}", "{seq}" + "x" * 64,
    "{{seq}}",
])
def test_invalid_patterns(pattern: str) -> None:
    assert [e.code for e in settings.pattern_errors(pattern)] == ["invalid_code_pattern"]


def test_render() -> None:
    prefix, width = settings.render_prefix(
        "{region}-{industry}-{year}-{seq:03}", region="HB", industry="IT", today=date(2024, 5, 6)
    )
    assert (prefix, width) == ("HB-IT-2024-" + settings.SEQ_MARK, 3)
    assert settings.format_code(prefix, width, 1) == "HB-IT-2024-001"
    assert settings.format_code(prefix, width, 1234) == "HB-IT-2024-1234"
    prefix, width = settings.render_prefix("{yy}{month}{day}-{seq}", region="", industry="", today=date(2024, 5, 6))
    assert settings.format_code(prefix, width, 7) == "240506-7"


async def test_sequence_per_prefix(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    prefixes = [codes.CodePrefix(text + settings.SEQ_MARK, 3) for text in ("HB-IT-", "HB-IT-", "HD-IT-", "HB-IT-")]
    async with tenant_session(engine, tenant_id) as session:
        numbers = [await codes.take_numbers(session, tenant_id, p, 1) for p in prefixes]
        block = await codes.allocate(session, tenant_id, prefixes[0], 3)
    assert numbers == [[1], [2], [1], [3]]
    assert block == ["HB-IT-004", "HB-IT-005", "HB-IT-006"]


async def test_numbers_are_taken_outside_the_create_transaction(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    """Taken numbers are committed at once: a create that rolls back does not hold back, nor give
    back, its number, and a concurrent create of the same prefix never waits for it."""
    prefix = codes.CodePrefix("CUS-" + settings.SEQ_MARK, 4)
    with pytest.raises(RuntimeError):
        async with tenant_session(engine, tenant_id) as session:
            assert await codes.allocate(session, tenant_id, prefix) == ["CUS-0001"]
            async with tenant_session(engine, tenant_id) as other:  # while the first is still open
                assert await asyncio.wait_for(codes.allocate(other, tenant_id, prefix), 5) == ["CUS-0002"]
            raise RuntimeError("the first create fails")
    async with tenant_session(engine, tenant_id) as session:
        assert await codes.allocate(session, tenant_id, prefix) == ["CUS-0003"]


async def test_a_block_skips_codes_entered_by_hand(customers, as_user, engine: AsyncEngine,  # type: ignore[no-untyped-def]
                                                   tenant_id: uuid.UUID) -> None:
    meta = as_user()
    for code in ("IMP-002", "IMP-003"):
        await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
            name=f"手工 {code}", mobile="13800138000", code=code)), metadata=meta)
    prefix = codes.CodePrefix("IMP-" + settings.SEQ_MARK, 3)
    async with tenant_session(engine, tenant_id) as session:
        assert await codes.allocate(session, tenant_id, prefix, 3) == ["IMP-001", "IMP-004", "IMP-005"]


async def test_generated_codes_skip_hand_entered_ones(customers, as_user) -> None:  # type: ignore[no-untyped-def]
    meta = as_user()
    await customers.UpdateCustomerSettings(
        pb.UpdateCustomerSettingsRequest(code_pattern="{region}-{industry}-{seq:03}"), metadata=meta
    )
    taken = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="手工", mobile="13800138000", code="HB-IT-001")), metadata=meta)
    assert taken.code == "HB-IT-001"
    codes = []
    for region in ("北京", "BJ", "华北/天津", "上海"):
        reply = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
            name=region, mobile="13800138000", region=region, industry="IT")), metadata=meta)
        codes.append(reply.code)
    assert codes == ["HB-IT-002", "HB-IT-003", "HB-IT-004", "HD-IT-001"]
