"""SSRF care: which addresses a delivery may reach, and pinning to the checked address."""

from __future__ import annotations

import ipaddress

import pytest

from crm_webhooks.targets import TargetRefused, is_forbidden_address, resolve_target


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "224.0.0.1", "255.255.255.255", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "::"],
)
def test_private_and_special_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden_address(ipaddress.ip_address(address))


async def test_loopback_is_refused_in_production_mode() -> None:
    with pytest.raises(TargetRefused):
        await resolve_target("http://localhost:8080/hook", allow_private=False)
    with pytest.raises(TargetRefused):
        await resolve_target("http://127.0.0.1:8080/hook", allow_private=False)


async def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(TargetRefused):
        await resolve_target("https://no-such-host.invalid/hook", allow_private=True)


async def test_target_is_pinned_to_the_checked_address() -> None:
    target = await resolve_target("http://localhost:8080/hook?x=1", allow_private=True)
    assert target.url.host in ("127.0.0.1", "::1")
    assert target.url.port == 8080
    assert target.url.raw_path == b"/hook?x=1"
    assert target.headers == {"host": "localhost:8080"}
    assert target.extensions == {"sni_hostname": "localhost"}


async def test_literal_address_needs_no_sni() -> None:
    target = await resolve_target("https://127.0.0.1:8443/", allow_private=True)
    assert target.extensions == {}
