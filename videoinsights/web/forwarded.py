"""The scheme the client used, from a trusted TLS-terminating proxy's `X-Forwarded-Proto`.

Behind nginx the server speaks plain HTTP, yet the browser is on HTTPS: login cookies must be
`Secure` and absolute URLs must say https. uvicorn's proxy_headers is off (it would believe any
loopback peer), so this middleware sets the ASGI scope's scheme from `X-Forwarded-Proto` only when
the peer is one of settings.trusted_proxies, the same rule as web/client_address.py.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from videoinsights.web.client_address import is_trusted_proxy

_SCHEMES = {b"http": "http", b"https": "https"}


def forwarded_scheme(scope: Scope) -> str | None:
    """The forwarded scheme if the peer is a trusted proxy that sent a valid one, else None."""
    services = getattr(getattr(scope.get("app"), "state", None), "services", None)
    peer = scope.get("client")
    if services is None or not services.proxies or not peer or not is_trusted_proxy(peer[0], services.proxies):
        return None
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            return _SCHEMES.get(value.strip().lower())
    return None


class ForwardedScheme:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scheme = forwarded_scheme(scope)
            if scheme is not None:
                scope["scheme"] = scheme  # in place: the router's scope["route"] must reach Observe
        await self.app(scope, receive, send)
