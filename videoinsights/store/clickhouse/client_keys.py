"""Every SQL statement about client keys and LiveKit API keys, in ClickHouse SQL: the same functions and
results as store/duckdb/client_keys.py, on versioned tables (store/clickhouse/versioned.py)."""

from __future__ import annotations

from typing import Any

from videoinsights.auth.client_keys import ClientKey
from videoinsights.store.clickhouse.versioned import put

Cursor = Any  # a store/clickhouse/client.py Client

_NAMES = ("key_hash", "prefix", "project_id", "name", "origins", "created_at", "revoked_at")
_COLUMNS = ", ".join(_NAMES)


def _key(row: tuple[Any, ...]) -> ClientKey:
    return ClientKey(row[0], row[1], row[2], row[3], tuple(row[4]), row[5], row[6])


def _row(key: ClientKey) -> dict[str, Any]:
    return dict(zip(_NAMES, (key.key_hash, key.prefix, key.project_id, key.name, list(key.origins), key.created_at,
                             key.revoked_at), strict=True))


def insert_client_key(cur: Cursor, key: ClientKey) -> None:
    put(cur, "client_keys", _row(key))


def project_client_keys(cur: Cursor, project_id: str) -> list[ClientKey]:
    rows = cur.query_rows(f"SELECT {_COLUMNS} FROM client_keys FINAL WHERE project_id = {{p:String}} "
                          "ORDER BY created_at, prefix", {"p": project_id})
    return [_key(r) for r in rows]


def active_client_keys(cur: Cursor) -> list[ClientKey]:
    """Every key not revoked (the server's cache holds them all: there are few)."""
    return [_key(r) for r in cur.query_rows(f"SELECT {_COLUMNS} FROM client_keys FINAL WHERE revoked_at IS NULL")]


def client_keys_matching(cur: Cursor, key_hash: str, prefix: str) -> list[ClientKey]:
    """Keys whose hash is key_hash (a whole key was given) or whose prefix is prefix."""
    rows = cur.query_rows(f"SELECT {_COLUMNS} FROM client_keys FINAL WHERE key_hash = {{h:String}} "
                          "OR prefix = {x:String}", {"h": key_hash, "x": prefix})
    return [_key(r) for r in rows]


def revoke_client_key(cur: Cursor, key_hash: str, at_ms: int) -> None:
    for key in client_keys_matching(cur, key_hash, ""):
        if key.key_hash == key_hash and key.revoked_at is None:
            put(cur, "client_keys", {**_row(key), "revoked_at": at_ms})


# -- LiveKit API keys ------------------------------------------------------------

def livekit_key(cur: Cursor, api_key: str) -> tuple[str, str] | None:
    """(project_id, api_secret) of a registered LiveKit API key."""
    rows = cur.query_rows("SELECT project_id, api_secret FROM livekit_keys FINAL WHERE api_key = {k:String}",
                          {"k": api_key})
    return (rows[0][0], rows[0][1]) if rows else None


def put_livekit_key(cur: Cursor, api_key: str, project_id: str, api_secret: str, at_ms: int) -> None:
    put(cur, "livekit_keys", {"api_key": api_key, "project_id": project_id, "api_secret": api_secret,
                              "created_at": at_ms})


def project_livekit_keys(cur: Cursor, project_id: str) -> list[tuple[str, int]]:
    rows = cur.query_rows("SELECT api_key, created_at FROM livekit_keys FINAL WHERE project_id = {p:String} "
                          "ORDER BY created_at", {"p": project_id})
    return [(r[0], r[1]) for r in rows]


def delete_livekit_key(cur: Cursor, api_key: str, project_id: str) -> bool:
    owner = livekit_key(cur, api_key)
    if owner is None or owner[0] != project_id:
        return False
    put(cur, "livekit_keys", {"api_key": api_key}, deleted=True)
    return True
