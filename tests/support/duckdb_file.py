"""A store's DuckDB file opened around the store, as tests do: the raw file attached (store/duckdb/rawfile.py), or the
file turned back into the layout of schema versions before 16 (every table in the one file)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from videoinsights.store.duckdb.rawfile import attach_raw, raw_path
from videoinsights.store.duckdb.schema import RAW_TABLES, TABLES


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The file with its raw file attached: the raw tables' views answer as the store's do."""
    con = duckdb.connect(str(path), read_only=read_only)
    attach_raw(con, str(path), read_only)
    return con


def as_single_file(path: str | Path) -> None:
    """A closed store's file as versions before 16 left it: the raw tables (with their rows and session index) in the
    main file, no raw file."""
    con = connect(path)
    for name in RAW_TABLES:
        con.execute(f"DROP VIEW main.{name}")
        con.execute(TABLES[name])
        con.execute(f"INSERT INTO main.{name} BY NAME SELECT * FROM raw.{name}")
        con.execute(f"CREATE INDEX {name}_session ON main.{name} (session_id)")
    con.execute("CHECKPOINT")
    con.close()
    for name in (raw_path(str(path)), f"{raw_path(str(path))}.wal"):
        if os.path.exists(name):
            os.remove(name)
