"""Outbound webhooks: the signed body, where it may go, and delivery with retries.

The signature header is `X-VideoInsights-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256 of "<t>.<body>">` keyed with the rule's secret, as Stripe signs its
webhooks: the timestamp lets a receiver refuse replays. Targets are checked on
the addresses their host resolves to, at every delivery (DNS can change), so a
rule cannot be used to reach the server's own network.
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


async def check_target(url: str, allow_private: bool) -> None:
    """Raise RefusedTarget unless every address of the URL's host is public (or private ones are allowed)."""
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedTarget(f"cannot resolve {host}: {exc}") from None
    bad = sorted({str(info[4][0]) for info in infos if _forbidden(str(info[4][0]))})
    if bad or not infos:
        raise RefusedTarget(f"{host} resolves to a loopback, private or link-local address ({', '.join(bad)});"
                            " set VIDEOINSIGHTS_WEBHOOK_ALLOW_PRIVATE=1 to allow it")


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
                  progress: Progress, clock: Callable[[], float]) -> Outcome:
    """POST body to url, retrying network errors, 429 and 5xx with exponential backoff.

    Each failed try is reported through `progress` (status 'retrying') so the delivery log shows it."""
    http_status: int | None = None
    error: str | None = None
    for attempt in range(1, policy.max_attempts + 1):
        try:
            await check_target(url, policy.allow_private)
        except RefusedTarget as exc:
            return Outcome("refused", attempt - 1, None, str(exc))
        headers = {"Content-Type": "application/json", "User-Agent": "videoinsights-webhooks",
                   SIGNATURE_HEADER: signature(secret, body, int(clock()))}
        try:
            response = await client.post(url, content=body, headers=headers, timeout=policy.timeout_s)
            http_status, error = response.status_code, None if response.is_success else f"HTTP {response.status_code}"
            if response.is_success:
                return Outcome("delivered", attempt, http_status, None)
            if response.status_code != 429 and response.status_code < 500:
                return Outcome("failed", attempt, http_status, error)  # the receiver refused it: retrying won't help
        except httpx.HTTPError as exc:
            http_status, error = None, f"{type(exc).__name__}: {exc}"[:500]
        if attempt < policy.max_attempts:
            await progress("retrying", attempt, http_status, error)
            await asyncio.sleep(policy.backoff_s * 2 ** (attempt - 1))
    return Outcome("failed", policy.max_attempts, http_status, error)
