"""`videoinsights accounts ...` on a database file, and through a running server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli, create_project
from videoinsights.accounts.ops import ensure_demo_account
from videoinsights.accounts.passwords import verify_password
from videoinsights.store.duckdb import accounts as sql
from videoinsights.store.duckdb.store import DuckDBStore


def _fails(db: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "videoinsights", "--db", str(db), *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result
    return result.stderr


def test_accounts_offline(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    project = create_project(db, "p")
    ann, pid = "ann@example.com", project.project_id
    created = json.loads(cli(db, "accounts", "create", "--email", "Ann@Example.com", "--password", "s3cret-pass",
                             "--json"))
    assert created["email"] == "ann@example.com" and created["projects"] == []
    assert "already exists" in _fails(db, "accounts", "create", "--email", "ann@example.com", "--password", "whatever1")
    assert "at least 8" in _fails(db, "accounts", "create", "--email", "b@example.com", "--password", "short")
    assert "no project" in _fails(db, "accounts", "grant", "--email", "ann@example.com", "--project", "999")
    assert "no account" in _fails(db, "accounts", "grant", "--email", "zed@example.com", "--project", pid)
    cli(db, "accounts", "grant", "--email", ann, "--project", pid)
    again = json.loads(cli(db, "accounts", "grant", "--email", ann, "--project", pid, "--json"))
    assert again["granted"] is False
    listed = json.loads(cli(db, "accounts", "list", "--json"))
    assert [(a["email"], a["projects"]) for a in listed] == [("ann@example.com", [project.project_id])]
    cli(db, "accounts", "revoke", "--email", "ann@example.com", "--project", project.project_id)
    assert json.loads(cli(db, "accounts", "list", "--json"))[0]["projects"] == []

    store = DuckDBStore(str(db))
    try:
        account = sql.account_by_email(store.reader(), "ann@example.com")
        assert account is not None and verify_password(account.password_hash, "s3cret-pass")
        assert "s3cret-pass" not in account.password_hash
    finally:
        store.close()


def test_password_from_stdin_and_through_a_running_server(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    project = create_project(db, "p")
    server_factory()  # the CLI now goes through the server's admin endpoint
    result = subprocess.run([sys.executable, "-m", "videoinsights", "--db", str(db), "accounts", "create",
                             "--email", "c@example.com"], input="piped-password\n", capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    cli(db, "accounts", "grant", "--email", "c@example.com", "--project", project.project_id)
    assert "already exists" in _fails(db, "accounts", "create", "--email", "c@example.com", "--password", "x" * 9)
    changed = json.loads(cli(db, "accounts", "set-password", "--email", "c@example.com", "--password", "another-1",
                             "--json"))
    assert changed == {"email": "c@example.com", "sessionsEnded": 0}


def test_ensure_demo_account_rotates_the_password(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    project = create_project(db, "demo")
    store = DuckDBStore(str(db))
    try:
        email, first = ensure_demo_account(store, project.project_id)
        email2, second = ensure_demo_account(store, project.project_id)
        assert email == email2 and first != second
        account = sql.account_by_email(store.reader(), email)
        assert account is not None and verify_password(account.password_hash, second)
        assert [p.project_id for p in sql.granted_projects(store.reader(), account.account_id)] == [project.project_id]
    finally:
        store.close()


@pytest.mark.parametrize("bad", ["plain text", "$2b$12$bcrypt-is-not-accepted"])
def test_operations_accept_only_hashes(tmp_path: Path, bad: str) -> None:
    from videoinsights.ops import OPS, OpError

    store = DuckDBStore(str(tmp_path / "h.duckdb"))
    try:
        with pytest.raises(OpError, match="argon2id"):
            OPS["create_account"](store, email="x@example.com", password_hash=bad)
    finally:
        store.close()
