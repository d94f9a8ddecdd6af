"""Outbound webhooks: the signed body, where it may go, and delivery with retries.

The signature header is `X-VideoInsights-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256 of "<t>.<body>">` keyed with the rule's secret, as Stripe signs its
webhooks: the timestamp lets a receiver refuse replays. Targets are checked on
the addresses their host resolves to, at every delivery (DNS can change), so a
rule cannot be used to reach the server's own network; the request then goes to
one of the checked addresses (pinned), never to a second resolution of the name
that could answer differently (DNS rebinding), with the name kept in the Host
header and, for https, in the TLS SNI and the certificate check.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

SIGNATURE_HEADER = "X-VideoInsights-Signature"


def signature(secret: str, body: bytes, t: int) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class RefusedTarget(ValueError):
    """The webhook's host resolves to an address webhooks may not reach."""


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


Resolve = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    """The host's addresses in the system resolver's order (getaddrinfo, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def check_target(url: str, allow_private: bool, resolve: Resolve = system_resolve) -> list[str]:
    """The addresses of the URL's host a delivery may connect to, in resolver order.

    Raises RefusedTarget unless every address is public (or private ones are allowed). When private ones are
    allowed a failed resolution raises OSError instead: a network error, retried like one."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [host] if _literal(host) else await resolve(host, port)
    except OSError as exc:
        if allow_private:
            raise
        raise RefusedTarget(f"cannot resolve {host}: {exc}") from None
    if allow_private:
        return addresses
    bad = sorted({a for a in addresses if _forbidden(a)})
    if bad or not addresses:
        raise RefusedTarget(f"{host} resolves to a loopback, private or link-local address ({', '.join(bad)});"
                            " set VIDEOINSIGHTS_WEBHOOK_ALLOW_PRIVATE=1 to allow it")
    return addresses


async def post_pinned(client: httpx.AsyncClient, url: str, addresses: list[str], body: bytes,
                      headers: dict[str, str], timeout_s: float) -> httpx.Response:
    """POST to the first of `addresses` that accepts a connection, as if to `url`'s host.

    The URL's host becomes the address; the name stays in the Host header and, for https, is the TLS
    server name (SNI) the certificate is checked against (httpcore's `sni_hostname` extension)."""
    original = httpx.URL(url)
    last: httpx.TransportError | None = None
    for address in addresses:
        try:
            return await client.post(original.copy_with(host=address), content=body, timeout=timeout_s,
                                     headers={**headers, "Host": original.netloc.decode("ascii")},
                                     extensions={"sni_hostname": original.host})
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            last = exc  # this address does not answer: the next one may (IPv6 and IPv4 of one name)
    assert last is not None
    raise last


@dataclass(frozen=True)
class Policy:
    """How hard to try: max tries, first backoff (doubled each retry), per-try timeout."""

    max_attempts: int = 5
    backoff_s: float = 2.0
    timeout_s: float = 5.0
    allow_private: bool = False


@dataclass(frozen=True)
class Outcome:
    status: str  # 'delivered' | 'failed' | 'refused'
    attempts: int
    http_status: int | None
    error: str | None


Progress = Callable[[str, int, int | None, str | None], Awaitable[None]]


async def deliver(client: httpx.AsyncClient, url: str, secret: str, body: bytes, policy: Policy,
                  progress: Progress, clock: Callable[[], float], resolve: Resolve = system_resolve) -> Outcome:
    """POST body to url, retrying network errors, 429 and 5xx with exponential backoff.

    Every try resolves and checks the host again, then connects to a checked address (post_pinned).
    Each failed try is reported through `progress` (status 'retrying') so the delivery log shows it."""
    http_status: int | None = None
    error: str | None = None
    for attempt in range(1, policy.max_attempts + 1):
        headers = {"Content-Type": "application/json", "User-Agent": "videoinsights-webhooks",
                   SIGNATURE_HEADER: signature(secret, body, int(clock()))}
        try:
            addresses = await check_target(url, policy.allow_private, resolve)
            response = await post_pinned(client, url, addresses, body, headers, policy.timeout_s)
            http_status, error = response.status_code, None if response.is_success else f"HTTP {response.status_code}"
            if response.is_success:
                return Outcome("delivered", attempt, http_status, None)
            if response.status_code != 429 and response.status_code < 500:
                return Outcome("failed", attempt, http_status, error)  # the receiver refused it: retrying won't help
        except RefusedTarget as exc:
            return Outcome("refused", attempt - 1, None, str(exc))
        except (httpx.HTTPError, OSError) as exc:
            http_status, error = None, f"{type(exc).__name__}: {exc}"[:500]
        if attempt < policy.max_attempts:
            await progress("retrying", attempt, http_status, error)
            await asyncio.sleep(policy.backoff_s * 2 ** (attempt - 1))
    return Outcome("failed", policy.max_attempts, http_status, error)
