"""How the CLI reaches a database that a running server owns.

DuckDB lets one process open a file. While serving, the server writes
`<db>.server.json` (its URL and a random admin token, readable only by its
user); the CLI then sends its command to the server, which runs it on its
writer thread. Without a running server the CLI opens the file itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def sidecar_path(db: str) -> Path:
    return Path(str(db) + ".server.json")


def write_sidecar(db: str, url: str, token: str) -> None:
    path = sidecar_path(db)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "token": token, "pid": os.getpid()}, fh)
    os.replace(tmp, path)


def remove_sidecar(db: str) -> None:
    sidecar_path(db).unlink(missing_ok=True)


def running_server(db: str) -> dict[str, Any] | None:
    """The sidecar of a live server on this database, or None."""
    path = sidecar_path(db)
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


class RemoteError(RuntimeError):
    pass


def call_server(info: dict[str, Any], op: str, args: dict[str, Any]) -> Any:
    import httpx  # here: a command on a file no server owns need not pay its import (~0.2 s)

    response = httpx.post(
        f"{info['url']}/-/admin/{op}",
        json=args,
        headers={"Authorization": f"Bearer {info['token']}"},
        timeout=600,
    )
    body = response.json()
    if response.status_code != 200:
        raise RemoteError(body.get("error", {}).get("message", response.text))
    return body["result"]
