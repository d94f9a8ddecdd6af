"""`videoinsights accounts ...`: dashboard logins from the command line.

Passwords are hashed here, in the CLI process, and only the hash is sent to
the operation (which may run inside a running server). `--password` may be
omitted: the password is then prompted for, or read from standard input.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any

from videoinsights.accounts.model import AccountError
from videoinsights.accounts.passwords import hash_password

RunOp = Callable[..., Any]


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return str(args.password)
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise AccountError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def _show(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data) if as_json else text)


def add_account_commands(sub: Any, command: Callable[..., argparse.ArgumentParser], run_op: RunOp) -> None:
    """Add the `accounts` command group to the main parser (`command` makes a subcommand with --db)."""
    group = sub.add_parser("accounts", help="Manage dashboard logins.").add_subparsers(dest="action", required=True)

    def create(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "create_account", email=args.email,
                        password_hash=hash_password(_password(args)))
        _show(result, args.json, f"account {result['email']} created")
        return 0

    def set_password(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "set_password", email=args.email,
                        password_hash=hash_password(_password(args)))
        _show(result, args.json, f"password of {result['email']} changed; {result['sessionsEnded']} logins ended")
        return 0

    def grant(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "grant_project", email=args.email, project_id=str(args.project))
        note = "granted" if result["granted"] else "already granted"
        _show(result, args.json, f"{result['email']} may see project {result['projectId']} ({note})")
        return 0

    def revoke(args: argparse.Namespace, settings: Any) -> int:
        result = run_op(settings.store_url, "revoke_project", email=args.email, project_id=str(args.project))
        note = "revoked" if result["revoked"] else "was not granted"
        _show(result, args.json, f"{result['email']}: project {result['projectId']} {note}")
        return 0

    def list_(args: argparse.Namespace, settings: Any) -> int:
        accounts = run_op(settings.store_url, "list_accounts")
        lines = [f"{a['email']}\t{','.join(a['projects']) or '-'}" for a in accounts]
        _show(accounts, args.json, "\n".join(lines) if lines else "no accounts")
        return 0

    for name, func, help in (("create", create, "Create a login (email + password)."),
                             ("set-password", set_password, "Change a password and end the account's logins.")):
        p = command(name, _refusals(func), help, group)
        p.add_argument("--email", required=True)
        p.add_argument("--password", help="the password (prompted for, or read from stdin, when omitted)")
        p.add_argument("--json", action="store_true")
    for name, func, help in (("grant", grant, "Let an account see a project."),
                             ("revoke", revoke, "Stop an account seeing a project.")):
        p = command(name, _refusals(func), help, group)
        p.add_argument("--email", required=True)
        p.add_argument("--project", required=True, help="project id (API key) or application id")
        p.add_argument("--json", action="store_true")
    p = command("list", list_, "List accounts and their projects.", group)
    p.add_argument("--json", action="store_true")


def _refusals(func: Callable[[argparse.Namespace, Any], int]) -> Callable[[argparse.Namespace, Any], int]:
    """A weak password or mismatched prompt is refused before any operation runs."""
    def run(args: argparse.Namespace, settings: Any) -> int:
        try:
            return func(args, settings)
        except AccountError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return run
