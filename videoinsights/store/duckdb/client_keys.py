"""Every SQL statement about client keys and LiveKit API keys (DuckDB).

Like store/duckdb/accounts.py: functions take a cursor and fetch every
result; writes run on the writer thread or on a store no server owns.
"""

from __future__ import annotations

from typing import Any

from videoinsights.auth.client_keys import ClientKey

Cursor = Any  # a DuckDB connection or cursor

_COLUMNS = "key_hash, prefix, project_id, name, origins, created_at, revoked_at"


def _key(row: tuple[Any, ...]) -> ClientKey:
    return ClientKey(row[0], row[1], row[2], row[3], tuple(row[4]), row[5], row[6])


def insert_client_key(cur: Cursor, key: ClientKey) -> None:
    cur.execute(f"INSERT INTO client_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [key.key_hash, key.prefix, key.project_id, key.name, list(key.origins), key.created_at,
                 key.revoked_at])


def project_client_keys(cur: Cursor, project_id: str) -> list[ClientKey]:
    rows = cur.execute(f"SELECT {_COLUMNS} FROM client_keys WHERE project_id = ? ORDER BY created_at, prefix",
                       [project_id]).fetchall()
    return [_key(r) for r in rows]


def active_client_keys(cur: Cursor) -> list[ClientKey]:
    """Every key not revoked (the server's cache holds them all: there are few)."""
    rows = cur.execute(f"SELECT {_COLUMNS} FROM client_keys WHERE revoked_at IS NULL").fetchall()
    return [_key(r) for r in rows]


def client_keys_matching(cur: Cursor, key_hash: str, prefix: str) -> list[ClientKey]:
    """Keys whose hash is key_hash (a whole key was given) or whose prefix is prefix."""
    rows = cur.execute(f"SELECT {_COLUMNS} FROM client_keys WHERE key_hash = ? OR prefix = ?",
                       [key_hash, prefix]).fetchall()
    return [_key(r) for r in rows]


def revoke_client_key(cur: Cursor, key_hash: str, at_ms: int) -> None:
    cur.execute("UPDATE client_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL", [at_ms, key_hash])


# -- LiveKit API keys ------------------------------------------------------------


def livekit_key(cur: Cursor, api_key: str) -> tuple[str, str] | None:
    """(project_id, api_secret) of a registered LiveKit API key."""
    rows = cur.execute("SELECT project_id, api_secret FROM livekit_keys WHERE api_key = ?", [api_key]).fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def put_livekit_key(cur: Cursor, api_key: str, project_id: str, api_secret: str, at_ms: int) -> None:
    cur.execute("INSERT OR REPLACE INTO livekit_keys VALUES (?, ?, ?, ?)", [api_key, project_id, api_secret, at_ms])


def project_livekit_keys(cur: Cursor, project_id: str) -> list[tuple[str, int]]:
    rows = cur.execute("SELECT api_key, created_at FROM livekit_keys WHERE project_id = ? ORDER BY created_at",
                       [project_id]).fetchall()
    return [(r[0], r[1]) for r in rows]


def delete_livekit_key(cur: Cursor, api_key: str, project_id: str) -> bool:
    rows = cur.execute("DELETE FROM livekit_keys WHERE api_key = ? AND project_id = ? RETURNING api_key",
                       [api_key, project_id]).fetchall()
    return bool(rows)
