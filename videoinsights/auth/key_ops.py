"""Administrative operations on client keys and LiveKit API keys.

Like videoinsights/ops.py: each takes the store and JSON-able arguments and
returns JSON-able data, so the CLI runs it on the file or, while a server owns
the file, through the server's writer thread (whose key cache the admin
endpoint then invalidates: a revocation applies at once).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from videoinsights.auth.client_keys import (
    SHOWN_PREFIX_LEN,
    ClientKey,
    ClientKeyError,
    hash_key,
    looks_like_key,
    new_client_key,
    normalize_origin,
)


def _project(store: Any, project_id: str) -> str:
    project = store.get_project(str(project_id))
    if project is None or project.kind != "project":
        raise ClientKeyError(f"no project {project_id}")
    return project.project_id


def key_json(key: ClientKey) -> dict[str, Any]:
    return {"prefix": key.prefix, "projectId": int(key.project_id), "name": key.name, "origins": list(key.origins),
            "createdAt": key.created_at, "revokedAt": key.revoked_at}


def create_client_key(store: Any, project_id: str, origins: list[str] | None = None, name: str = "") -> dict[str, Any]:
    """A new key; the whole key is in this answer only (the store keeps its hash)."""
    pid = _project(store, project_id)
    normalized = tuple(dict.fromkeys(normalize_origin(o) for o in origins or ()))
    value = new_client_key()
    key = ClientKey(hash_key(value), value[:SHOWN_PREFIX_LEN], pid, name, normalized, int(time.time() * 1000), None)
    store.sql.client_keys.insert_client_key(store.reader(), key)
    return {"key": value, **key_json(key)}


def list_client_keys(store: Any, project_id: str) -> list[dict[str, Any]]:
    return [key_json(k) for k in store.sql.client_keys.project_client_keys(store.reader(), _project(store, project_id))]


def revoke_client_key(store: Any, key: str) -> dict[str, Any]:
    """Revoke by the whole key or by the prefix `keys list` shows (refused if ambiguous)."""
    value = key.strip()
    matches = store.sql.client_keys.client_keys_matching(store.reader(), hash_key(value), value[:SHOWN_PREFIX_LEN])
    if looks_like_key(value):
        matches = [k for k in matches if k.key_hash == hash_key(value)]
    elif len(value) != SHOWN_PREFIX_LEN:
        matches = []
    if not matches:
        raise ClientKeyError(f"no client key {value[:SHOWN_PREFIX_LEN]}...")
    if len(matches) > 1:
        raise ClientKeyError(f"several keys start with {value}: give the whole key")
    target = matches[0]
    if target.revoked_at is None:
        store.sql.client_keys.revoke_client_key(store.reader(), target.key_hash, int(time.time() * 1000))
    revoked = store.sql.client_keys.client_keys_matching(store.reader(), target.key_hash, "")[0]
    return key_json(revoked)


def add_livekit_key(store: Any, project_id: str, api_key: str, api_secret: str) -> dict[str, Any]:
    """Accept webhooks signed with this LiveKit API key/secret for the project (re-adding replaces the secret)."""
    pid = _project(store, project_id)
    api_key, api_secret = api_key.strip(), api_secret.strip()
    if not api_key or not api_secret:
        raise ClientKeyError("give a LiveKit API key and its secret")
    owner = store.sql.client_keys.livekit_key(store.reader(), api_key)
    if owner is not None and owner[0] != pid:
        raise ClientKeyError(f"LiveKit API key {api_key} is registered on project {owner[0]}")
    store.sql.client_keys.put_livekit_key(store.reader(), api_key, pid, api_secret, int(time.time() * 1000))
    return {"projectId": int(pid), "apiKey": api_key, "webhookPath": f"/v1/projects/{pid}/callbacks/livekit"}


def list_livekit_keys(store: Any, project_id: str) -> list[dict[str, Any]]:
    pid = _project(store, project_id)
    return [{"apiKey": k, "createdAt": at} for k, at in store.sql.client_keys.project_livekit_keys(store.reader(), pid)]


def remove_livekit_key(store: Any, project_id: str, api_key: str) -> dict[str, Any]:
    pid = _project(store, project_id)
    if not store.sql.client_keys.delete_livekit_key(store.reader(), api_key, pid):
        raise ClientKeyError(f"LiveKit API key {api_key} is not registered on project {pid}")
    return {"projectId": int(pid), "apiKey": api_key, "removed": True}


def _as_op(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Report refusals as OpError, which the CLI and the admin endpoint turn into a message."""
    @functools.wraps(fn)
    def op(store: Any, **args: Any) -> Any:
        from videoinsights.ops import OpError  # imported here: ops.py imports this module

        try:
            return fn(store, **args)
        except ClientKeyError as exc:
            raise OpError(str(exc)) from None
    return op


KEY_OPS = {fn.__name__: _as_op(fn) for fn in (create_client_key, list_client_keys, revoke_client_key,
                                               add_livekit_key, list_livekit_keys, remove_livekit_key)}
