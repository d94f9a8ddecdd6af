"""The backend dispatch stays true: both backends expose the same SQL modules with the same functions
and signatures (callers reach them as `store.sql`), and no code outside store/ imports the DuckDB backend
package (store/open.py alone picks a backend)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from videoinsights.store.clickhouse import backend as clickhouse
from videoinsights.store.clickhouse.store import ClickHouseStore
from videoinsights.store.duckdb import backend as duckdb
from videoinsights.store.duckdb.store import DuckDBStore

PACKAGE = Path(__file__).resolve().parents[2] / "videoinsights"
MODULES = ("reads", "live", "export", "accounts", "alerts", "client_keys")


def _public_functions(module: object) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in vars(module).items()
            if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == module.__name__}


@pytest.mark.parametrize("name", MODULES)
def test_same_functions_and_signatures(name: str) -> None:
    ours, theirs = _public_functions(getattr(duckdb, name)), _public_functions(getattr(clickhouse, name))
    assert ours, name
    # A ClickHouse module may add helpers of its own (rows_of); every DuckDB function must exist alike.
    missing = {f: str(sig) for f, sig in ours.items() if f not in theirs or str(theirs[f]) != str(sig)}
    assert missing == {}, f"{name}: functions absent or with another signature on ClickHouse: {missing}"


def test_constants_callers_use_are_the_same() -> None:
    assert clickhouse.alerts.MEETING_SUMMARY == duckdb.alerts.MEETING_SUMMARY
    assert clickhouse.alerts.RULE_COLUMNS == duckdb.alerts.RULE_COLUMNS
    assert clickhouse.export.SESSION_KINDS == duckdb.export.SESSION_KINDS


def test_each_store_carries_its_modules() -> None:
    assert DuckDBStore.sql is duckdb and ClickHouseStore.sql is clickhouse
    assert set(duckdb.__all__) == set(clickhouse.__all__) == set(MODULES)


def test_no_backend_imported_outside_store() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("store/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            if any(n.startswith("videoinsights.store.duckdb") for n in names):
                offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []
