"""`videoinsights alerts` on the database file (no server), and its refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli, create_project


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "videoinsights", "--db", str(db), "alerts", *args],
                          capture_output=True, text=True, timeout=120)


def test_create_list_delete_offline(tmp_path: Path) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    rule = json.loads(cli(db, "alerts", "create", "--project", creds.project_id, "--metric", "publish_failure_rate",
                          "--threshold", "0.1", "--window", "15m", "--quiet", "1h", "--webhook",
                          "https://hooks.example.com/vi", "--country", "us", "--country", "DE", "--sdk", "js",
                          "--json"))
    assert rule["id"].startswith("al_") and rule["secret"].startswith("whsec_") and len(rule["secret"]) == 54
    assert (rule["windowSeconds"], rule["quietSeconds"], rule["threshold"]) == (900, 3600, 0.1)
    assert rule["filters"] == {"country": ["US", "DE"], "sdk": ["JS"], "browser": []}
    assert rule["state"] == "ok" and rule["direction"] == "above"
    listed = json.loads(cli(db, "alerts", "list", "--project", creds.project_id, "--json"))
    assert listed == [rule]
    assert "publish_failure_rate > 0.1 over 900s" in cli(db, "alerts", "list", "--project", creds.project_id)
    assert json.loads(cli(db, "alerts", "delete", rule["id"], "--json")) == {"id": rule["id"], "deleted": True}
    assert json.loads(cli(db, "alerts", "list", "--project", creds.project_id, "--json")) == []
    assert "no alert rule" in run(db, "delete", rule["id"]).stderr


def test_bad_rules_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    base = ["create", "--project", creds.project_id, "--metric", "connect_failure_rate"]
    cases = {
        ("--threshold", "1.5", "--webhook", "https://h.example.com"): "between 0 and 1",
        ("--threshold", "0.2", "--webhook", "ftp://h.example.com"): "http(s) URL",
        ("--threshold", "0.2", "--webhook", "https://user:pw@h.example.com"): "credentials",
        ("--threshold", "0.2", "--webhook", "https://h.example.com", "--window", "soon"): "duration",
        ("--threshold", "0.2", "--webhook", "https://h.example.com", "--window", "8d"): "between 1s and 7d",
    }
    for args, message in cases.items():
        result = run(db, *base, *args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    result = run(db, "create", "--project", "999", "--metric", "minutes", "--threshold", "1", "--webhook",
                 "https://h.example.com")
    assert result.returncode == 2 and "no project 999" in result.stderr
    assert json.loads(cli(db, "alerts", "list", "--project", creds.project_id, "--json")) == []
