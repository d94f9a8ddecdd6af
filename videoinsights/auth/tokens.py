"""Project credentials and the two token kinds clients send.

* `X-OPENTOK-AUTH: <HS256 JWT>`: iss = project id (API key), ist = "project",
  signed with the project secret: what the OpenTok server SDKs send.
* `Authorization: Bearer <RS256 JWT>` carrying application_id: a Vonage
  application, verified with its stored public key.
* Ingest tokens: the project JWT plus scope = "ingest" and sid = one session
  id, living at most an hour. The app's server mints them for its browsers;
  they only POST /v1/events for that session (`allow_ingest`), and every other
  route refuses them.

Error codes follow the Insights spec: 1001 missing, 1011 malformed/expired,
1020 bad signature, 1000 unknown project/application id.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from videoinsights.store.base import Project


class AuthError(Exception):
    """Authentication failed; carries the Insights error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AuthContext:
    """Who is calling: the project (or application) a token belongs to, or a
    browser login (kind "login") with the projects its account was granted."""

    project_id: str  # "" for a login
    kind: str  # "project" | "application" | "login"
    granted: frozenset[str] = frozenset()
    session_id: str = ""  # ingest tokens: the one session they may send events for

    def may_read(self, project_id: str) -> bool:
        if self.kind == "login":
            return project_id in self.granted
        own = self.project_id.lower() if self.kind == "application" else self.project_id
        return project_id == own


def login_context(granted: frozenset[str]) -> AuthContext:
    return AuthContext(project_id="", kind="login", granted=granted)


def new_project_id() -> str:
    """An 8-digit API key (no leading zero), like Vonage's."""
    return str(10_000_000 + secrets.randbelow(90_000_000))


def new_api_secret() -> str:
    return secrets.token_hex(20)  # 40 hex characters


def new_callback_token() -> str:
    return secrets.token_urlsafe(24)


def new_application_id() -> str:
    return str(uuid.uuid4())


def issue_project_token(project_id: str, api_secret: str, ttl_s: int = 300) -> str:
    """The HS256 JWT for X-OPENTOK-AUTH, with the claims the OpenTok SDKs use."""
    now = int(time.time())
    claims = {"iss": project_id, "ist": "project", "iat": now, "exp": now + ttl_s, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, api_secret, algorithm="HS256")


INGEST_SCOPE = "ingest"
MAX_INGEST_TTL_S = 3600


def issue_ingest_token(project_id: str, api_secret: str, session_id: str, ttl_s: int = 900) -> str:
    """A token that may only send events of one session (for a browser; see docs/events.md)."""
    if not session_id:
        raise ValueError("an ingest token needs a session id")
    if not 0 < ttl_s <= MAX_INGEST_TTL_S:
        raise ValueError(f"an ingest token lives at most {MAX_INGEST_TTL_S} s")
    now = int(time.time())
    claims = {"iss": project_id, "ist": "project", "scope": INGEST_SCOPE, "sid": session_id, "iat": now,
              "exp": now + ttl_s, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, api_secret, algorithm="HS256")


ProjectLookup = Callable[[str], Project | None]


def authenticate(headers: Mapping[str, str], lookup: ProjectLookup, leeway_s: int = 60, *,
                 allow_ingest: bool = False) -> AuthContext:
    """Verify the request's token; raise AuthError with the spec's code.

    Ingest tokens are refused unless `allow_ingest` (POST /v1/events only)."""
    opentok = headers.get("x-opentok-auth")
    bearer = headers.get("authorization", "")
    if opentok:
        ctx = _verify(opentok.strip(), "HS256", lookup, leeway_s)
    elif bearer[:7].lower() == "bearer ":
        ctx = _verify(bearer[7:].strip(), "RS256", lookup, leeway_s)
    else:
        raise AuthError(1001, "No valid authentication was provided.")
    if ctx.session_id and not allow_ingest:
        raise AuthError(1011, "Invalid token: an ingest token may only send events (POST /v1/events).")
    return ctx


def _ingest_session(claims: dict[str, Any], leeway_s: int) -> str:
    """The session of an ingest token ('' for a plain project token); refuses other scopes."""
    scope = claims.get("scope")
    if scope is None:
        return ""
    sid = claims.get("sid")
    if scope != INGEST_SCOPE or not isinstance(sid, str) or not sid:
        raise AuthError(1011, "Invalid token: the only scope is 'ingest', with a session id in 'sid'.")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp > time.time() + MAX_INGEST_TTL_S + leeway_s:
        raise AuthError(1011, f"Invalid token: an ingest token lives at most {MAX_INGEST_TTL_S} s.")
    return sid


def _verify(token: str, algorithm: str, lookup: ProjectLookup, leeway_s: int) -> AuthContext:
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AuthError(1011, "Invalid token.") from None
    if header.get("alg") != algorithm:
        raise AuthError(1011, f"Invalid token: this header requires {algorithm} tokens.")
    if algorithm == "HS256":
        if unverified.get("ist", "project") != "project":
            raise AuthError(1011, "Invalid token: ist must be 'project'.")
        project_id, kind = str(unverified.get("iss", "")), "project"
    else:
        project_id, kind = str(unverified.get("application_id", "")), "application"
    if not project_id:
        raise AuthError(1011, "Invalid token: it names no project.")
    project = lookup(project_id)
    if project is None or project.kind != kind:
        raise AuthError(1000, "Invalid App Id provided.")
    key: Any = project.api_secret if kind == "project" else project.public_key
    try:
        claims = jwt.decode(token, key, algorithms=[algorithm], leeway=leeway_s, options={"require": ["exp"]})
    except jwt.InvalidSignatureError:
        raise AuthError(1020, "Unable to validate the token.") from None
    except jwt.PyJWTError as exc:
        raise AuthError(1011, f"Invalid token: {exc}.") from None
    session_id = _ingest_session(claims, leeway_s) if kind == "project" else ""
    return AuthContext(project_id=project_id, kind=kind, session_id=session_id)
