"""Where a webhook may be sent (SSRF care).

A tenant chooses the URL, so without care it could make this service call into our own network
(databases, metadata endpoints, other services). In production every address a host resolves to
must be public; the connection is then pinned to the address we checked, so a DNS answer that
changes between the check and the connect (rebinding) cannot redirect it. The dev runner and
tests deliver to 127.0.0.1 and switch the check off with `CRM_WEBHOOKS_ALLOW_PRIVATE_TARGETS`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_HOST_NAMES = frozenset({"localhost", "localhost.localdomain"})


class TargetRefused(Exception):
    """The URL's host is not a permitted destination (private, unresolvable)."""


def is_forbidden_address(address: IPAddress) -> bool:
    """Loopback, private, link-local (cloud metadata), shared, multicast, reserved, unspecified."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return not address.is_global or address.is_multicast


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_forbidden_literal_host(host: str) -> bool:
    """What can be judged without DNS (used when an endpoint is created)."""
    address = literal_address(host)
    if address is not None:
        return is_forbidden_address(address)
    return host.lower().rstrip(".") in LOCAL_HOST_NAMES or host.lower().endswith(".localhost")


@dataclass(frozen=True)
class PinnedTarget:
    """A request target whose host is replaced by the checked address; the original host name
    still goes in the Host header and in TLS (SNI and certificate check)."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str] = field(default_factory=dict)


async def resolve_target(url: str, *, allow_private: bool) -> PinnedTarget:
    parsed = httpx.URL(url)
    host = parsed.raw_host.decode("ascii")  # IDNA-encoded already
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = await _resolve(host, port)
    if not allow_private:
        forbidden = [a for a in addresses if is_forbidden_address(a)]
        if forbidden:
            raise TargetRefused(f"{host} resolves to a non-public address ({forbidden[0]})")
    chosen = addresses[0]
    extensions = {} if literal_address(host) is not None else {"sni_hostname": host}
    return PinnedTarget(
        url=parsed.copy_with(host=str(chosen)),
        headers={"host": parsed.netloc.decode("ascii")},
        extensions=extensions,
    )


async def _resolve(host: str, port: int) -> list[IPAddress]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"{host} does not resolve: {exc.strerror}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        # sockaddr[0] may carry an IPv6 zone ("fe80::1%eth0"); the zone is not part of the address.
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetRefused(f"{host} has no addresses")
    return addresses
