"""The address of the client behind a request, trusting `X-Forwarded-For` only from our proxies.

uvicorn runs with its own proxy-header handling off, so `scope["client"]` is
the peer that opened the TCP connection. When that peer is one of the
configured trusted proxies (`VIDEOINSIGHTS_TRUSTED_PROXIES`: addresses or
networks), the forwarded chain is walked from the right, skipping trusted
hops, and the first untrusted address is the client. Otherwise the header is
ignored: a stranger can't choose the address its limits are counted against.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/8' -> networks; raises ValueError naming a bad entry."""
    networks = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {item!r}") from None
    return tuple(networks)


def is_trusted_proxy(address: str, proxies: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(scope: Scope, proxies: tuple[Network, ...]) -> str:
    """The client's address as a string ('-' when the server can't tell)."""
    peer = scope.get("client")
    address = peer[0] if peer else "-"
    if not proxies or not is_trusted_proxy(address, proxies):
        return address
    forwarded: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded.extend(part.strip() for part in value.decode("latin-1").split(","))
    for hop in reversed(forwarded):
        if hop and not is_trusted_proxy(hop, proxies):
            return hop
    return forwarded[0] if forwarded and forwarded[0] else address
