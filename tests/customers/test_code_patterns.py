"""Customer code patterns: validation, rendering, and the sequence kept per rendered prefix."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

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


async def test_sequence_per_prefix(engine: AsyncEngine, tenant_id: object) -> None:
    async with tenant_session(engine, tenant_id) as session:  # type: ignore[arg-type]
        numbers = [await settings.next_number(session, p) for p in ("HB-IT-", "HB-IT-", "HD-IT-", "HB-IT-")]
    assert numbers == [1, 2, 1, 3]


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
