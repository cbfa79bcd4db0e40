"""Status transitions (tenant-configurable) with history, and dictionaries, over gRPC."""

from __future__ import annotations

import grpc
import pytest

from crm_customers.settings.dictionaries import Entry, validate_entries
from crm_platform.errors import InvalidInput
from crm_proto.crm.customers.v1 import customers_pb2 as pb


async def _change(customers, meta, customer_id: str, status: str, reason: str = "r"):  # type: ignore[no-untyped-def]
    return await customers.ChangeCustomerStatus(
        pb.ChangeCustomerStatusRequest(id=customer_id, status=status, reason=reason), metadata=meta
    )


@pytest.mark.parametrize("path, allowed", [
    (["intent", "won", "lost", "potential"], True),
    (["won", "lost", "intent", "lost"], True),
    (["lost", "potential"], True),
    (["won", "potential"], False),
    (["won", "intent"], False),
])
async def test_default_transitions(customers, as_user, path: list[str], allowed: bool) -> None:  # type: ignore[no-untyped-def]
    meta = as_user()
    c = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="x", mobile="13800138000")), metadata=meta)
    *ok, last = path
    for status in ok:
        await _change(customers, meta, c.id, status)
    if allowed:
        assert (await _change(customers, meta, c.id, last)).status == last
    else:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _change(customers, meta, c.id, last)
        assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    history = await customers.ListStatusHistory(pb.ListStatusHistoryRequest(id=c.id), metadata=meta)
    expected = ["potential", *ok, *([last] if allowed else [])]
    assert [h.to_status for h in reversed(history.items)] == expected


async def test_tenant_transitions_and_reason_required(customers, as_user) -> None:  # type: ignore[no-untyped-def]
    meta = as_user()
    request = pb.UpdateCustomerSettingsRequest(replace_status_transitions=True)
    request.status_transitions["potential"].to.extend(["won"])
    await customers.UpdateCustomerSettings(request, metadata=meta)
    c = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="x", mobile="13800138000")), metadata=meta)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _change(customers, meta, c.id, "intent")
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _change(customers, meta, c.id, "won", reason="  ")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (await _change(customers, meta, c.id, "won", reason="签约")).status == "won"
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # won has no way out in this tenant
        await _change(customers, meta, c.id, "lost")
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_settings_need_admin_scope(customers, as_user) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await customers.GetCustomerSettings(pb.GetCustomerSettingsRequest(),
                                            metadata=as_user(["customers:read", "customers:write"]))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_seeded_dictionaries(customers, as_user) -> None:  # type: ignore[no-untyped-def]
    region = await customers.GetDictionary(pb.GetDictionaryRequest(name="region"), metadata=as_user())
    paths = {e.code: e.path for e in region.entries}
    assert paths["HB"] == "华北" and paths["BJ"] == "华北/北京" and paths["GD"] == "华南/广东"
    industry = await customers.GetDictionary(pb.GetDictionaryRequest(name="industry"), metadata=as_user())
    assert {"IT", "MFG", "RTL"} <= {e.code for e in industry.entries}


@pytest.mark.parametrize("name, entries, field, code", [
    ("region", [Entry("A", "甲", "Z")], "entries[0].parent", "unknown_parent"),
    ("region", [Entry("A", "甲", "B"), Entry("B", "乙", "A")], "entries[0].parent", "cycle"),
    ("industry", [Entry("A", "甲", "B"), Entry("B", "乙")], "entries[0].parent", "not_a_tree"),
    ("industry", [Entry("A", "甲"), Entry("a", "乙")], "entries[1].code", "duplicate"),
    ("industry", [Entry("A B", "甲")], "entries[0].code", "invalid_code"),
    ("industry", [Entry("A", "")], "entries[0].label", "required"),
    ("region", [Entry("A", "甲/乙")], "entries[0].label", "invalid_label"),
])
def test_dictionary_rules(name: str, entries: list[Entry], field: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_entries(name, entries)
    assert (field, code) in {(e.field, e.code) for e in caught.value.errors}
