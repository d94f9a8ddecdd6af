"""Identifiers that look like the platform's and are deterministic for a seed.

Session ids follow the Vonage shape `2_MX4<base64("<projectId>~~<ms>~<rand>~")>`
(with `-` for `+`/`/` padding); connection, stream, subscriber and resource ids
are UUID v4 strings drawn from the session's RNG. Event ids are
`<session tag>-<source>-<n>`: unique because session tags are unique per
session and (source, n) per session.
"""

from __future__ import annotations

import base64
import hashlib
from random import Random

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def session_id(project_id: int | str, start_ms: int, ordinal: int, rng: Random) -> str:
    """A Vonage-style session id; `ordinal` (unique in the run) makes it unique."""
    salt = "".join(_ALNUM[rng.getrandbits(6) % 62] for _ in range(6))
    raw = f"1~{project_id}~~{start_ms}~{salt}{ordinal:x}~".encode()
    body = base64.b64encode(raw).decode().rstrip("=").replace("+", "-").replace("/", "-")
    return f"2_{body}"


def uuid4(rng: Random) -> str:
    """A UUID v4 string from `rng` (no global state)."""
    n = rng.getrandbits(128)
    n = (n & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def session_tag(session: str, seed: int | str) -> str:
    """A short stable prefix for a session's event ids."""
    return hashlib.blake2b(f"{seed}|{session}".encode(), digest_size=8).hexdigest()
