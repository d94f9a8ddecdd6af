"""`videoinsights keys ...` (client keys) and `videoinsights livekit ...` (webhook API keys).

Like every admin command they run on the file, or through a running server
that owns it (see control.py).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

RunOp = Callable[..., Any]


def _show(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data) if as_json else text)


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ms else "-"


def add_key_commands(sub: Any, command: Callable[..., argparse.ArgumentParser], run_op: RunOp) -> None:
    """Add the `keys` and `livekit` command groups to the main parser."""
    keys = sub.add_parser("keys", help="Manage client keys (publishable, write-only, for browsers).")
    group = keys.add_subparsers(dest="action", required=True)

    def create(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "create_client_key", project_id=str(args.project),
                        origins=args.origin or [], name=args.name or "")
        origins = ", ".join(result["origins"]) or "none (no browser origin)"
        _show(result, args.json, f"client key for project {result['projectId']}: {result['key']}\n"
                                 f"  allowed origins: {origins}\n  (shown once: only its hash is stored)")
        return 0

    def list_keys(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "list_client_keys", project_id=str(args.project))
        lines = [f"{k['prefix']}...\t{'revoked ' + _when(k['revokedAt']) if k['revokedAt'] else 'active'}\t"
                 f"{_when(k['createdAt'])}\t{k['name'] or '-'}\t{' '.join(k['origins']) or '-'}" for k in result]
        _show(result, args.json, "\n".join(lines) if lines else "no client keys")
        return 0

    def revoke(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "revoke_client_key", key=args.key)
        _show(result, args.json, f"client key {result['prefix']}... revoked")
        return 0

    p = command("create", create, "Create a client key for a project.", group)
    p.add_argument("--project", required=True)
    p.add_argument("--origin", action="append", metavar="URL",
                   help="browser origin allowed to send with it, e.g. https://app.example.com (repeat; '*': any)")
    p.add_argument("--name", help="a label for `keys list`")
    p.add_argument("--json", action="store_true")
    p = command("list", list_keys, "List a project's client keys (prefixes only).", group)
    p.add_argument("--project", required=True)
    p.add_argument("--json", action="store_true")
    p = command("revoke", revoke, "Revoke a client key (the whole key, or the prefix `keys list` shows).", group)
    p.add_argument("key")
    p.add_argument("--json", action="store_true")

    livekit = sub.add_parser("livekit", help="Accept LiveKit webhooks for a project.")
    lk = livekit.add_subparsers(dest="action", required=True)

    def lk_add(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "add_livekit_key", project_id=str(args.project), api_key=args.api_key,
                        api_secret=args.api_secret)
        _show(result, args.json, f"LiveKit API key {result['apiKey']} registered; point LiveKit's webhook URL at "
                                 f"<this server>{result['webhookPath']}")
        return 0

    def lk_list(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "list_livekit_keys", project_id=str(args.project))
        lines = [f"{k['apiKey']}\t{_when(k['createdAt'])}" for k in result]
        _show(result, args.json, "\n".join(lines) if lines else "no LiveKit API keys")
        return 0

    def lk_remove(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "remove_livekit_key", project_id=str(args.project), api_key=args.api_key)
        _show(result, args.json, f"LiveKit API key {result['apiKey']} removed")
        return 0

    for name, func, help in (("add", lk_add, "Register a LiveKit API key and secret (they sign its webhooks)."),
                             ("list", lk_list, "List the LiveKit API keys of a project."),
                             ("remove", lk_remove, "Stop accepting webhooks signed with an API key.")):
        p = command(name, func, help, lk)
        p.add_argument("--project", required=True)
        if name != "list":
            p.add_argument("--api-key", required=True)
        if name == "add":
            p.add_argument("--api-secret", required=True)
        p.add_argument("--json", action="store_true")
