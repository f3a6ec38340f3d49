"""Which address a request comes from. Without PAINPUMP_TRUSTED_PROXIES it is the connection's
(REMOTE_ADDR): any client can write X-Forwarded-For, so it is not read. When the connection
comes from a trusted proxy, X-Forwarded-For is read from the right (each proxy appends the
address it was connected from): the first address that is not a trusted proxy is the client,
and whatever stands left of it, written by the client itself, is ignored. A malformed entry
ends the walk at the proxy that passed it on."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = ipaddress.IPv4Address("0.0.0.0")
"""The address of a request whose connection has none (a test client, a Unix socket)."""


def parse(text: str) -> Address | None:
    """An address in canonical form (an IPv4-mapped IPv6 address as the IPv4 one), or None."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=8)
def _networks(listed: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in listed)


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def trusted_proxy(text: str) -> bool:
    """True when the connection's address is one of PAINPUMP_TRUSTED_PROXIES."""
    address = parse(text)
    networks = _networks(tuple(settings.PAINPUMP_TRUSTED_PROXIES))
    return address is not None and _trusted(address, networks)


def client_address(request: HttpRequest) -> Address:
    remote = parse(str(request.META.get("REMOTE_ADDR") or ""))
    if remote is None:
        return UNKNOWN
    networks = _networks(tuple(settings.PAINPUMP_TRUSTED_PROXIES))
    client = remote
    if not _trusted(remote, networks):
        return client
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    for hop in reversed(forwarded.split(",")):
        address = parse(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, networks):
            break
    return client
