"""Client keys: publishable, write-only credentials for browsers and apps.

A browser can't hold the project secret, so it sends a client key
(`vik_` + 32 hex characters) in `X-VideoInsights-Key` or `?key=`. A key may
only POST client events (lifecycle, stats, attempts) to /v1/events, from the
origins it lists, and reads nothing. Only its SHA-256 is stored, with a
short prefix so that `keys list` can still tell keys apart.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

KEY_PREFIX = "vik_"
SHOWN_PREFIX_LEN = len(KEY_PREFIX) + 8  # what `keys list` shows and `keys revoke` accepts
ANY_ORIGIN = "*"

# What a browser client reports about itself; archives, broadcasts, SIP calls and Experience
# Composers are server-side features, reported by the app's server with the project token.
CLIENT_EVENT_TYPES = frozenset({
    "connectionCreated", "connectionDestroyed",
    "streamCreated", "streamDestroyed",
    "subscriberCreated", "subscriberDestroyed",
    "publisherStats", "subscriberStats",
    "connectAttempt", "publishAttempt", "subscribeAttempt",
})


class ClientKeyError(ValueError):
    """A key operation was refused; the message says why."""


@dataclass(frozen=True)
class ClientKey:
    key_hash: str  # SHA-256 hex of the whole key
    prefix: str  # the key's first SHOWN_PREFIX_LEN characters
    project_id: str
    name: str
    origins: tuple[str, ...]  # normalised origins, or ("*",)
    created_at: int
    revoked_at: int | None

    def allows_origin(self, origin: str | None) -> bool:
        """A request without Origin (a native app, a server) is allowed; a browser's must be listed."""
        if origin is None:
            return True
        return ANY_ORIGIN in self.origins or normalize_origin(origin, strict=False) in self.origins


def new_client_key() -> str:
    return KEY_PREFIX + secrets.token_hex(16)


def hash_key(key: str) -> str:
    """Keys carry 128 random bits: a plain SHA-256 is enough (no slow hash needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX) and len(value) == len(KEY_PREFIX) + 32


def normalize_origin(origin: str, *, strict: bool = True) -> str:
    """'https://App.example.com/' -> 'https://app.example.com'; '*' stays. Strict: refuse paths."""
    value = origin.strip()
    if value == ANY_ORIGIN:
        return value
    parts = urlsplit(value)
    bad = parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment
    if strict and (bad or parts.path not in ("", "/") or parts.username or parts.password):
        raise ClientKeyError(f"not an origin (scheme://host[:port]): {origin!r}")
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}"


class ClientKeyCache:
    """Active keys by hash, re-read from the store at most every `ttl_s` seconds.

    The admin endpoint invalidates it after every operation, so a revocation
    through the CLI applies at once on this server; the TTL bounds staleness
    otherwise (e.g. a key changed while no server was running: never stale)."""

    def __init__(self, load: Any, ttl_s: float = 2.0) -> None:
        self._load = load  # () -> list[ClientKey]: every non-revoked key
        self._ttl = ttl_s
        self._keys: dict[str, ClientKey] = {}
        self._origins: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._loaded_at < self._ttl:
            return
        with self._lock:
            if now - self._loaded_at < self._ttl:
                return
            keys = self._load()
            self._keys = {k.key_hash: k for k in keys}
            self._origins = frozenset(o for k in keys for o in k.origins)
            self._loaded_at = now

    def get(self, key: str) -> ClientKey | None:
        """The active key with this value, or None (unknown or revoked)."""
        self._fresh()
        return self._keys.get(hash_key(key))

    def any_allows(self, origin: str, project_id: str | None = None) -> bool:
        """Does some active key (of `project_id`, if given) list this origin?"""
        self._fresh()
        if project_id is None:
            return ANY_ORIGIN in self._origins or normalize_origin(origin, strict=False) in self._origins
        return any(k.project_id == project_id and k.allows_origin(origin) for k in self._keys.values())

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")
