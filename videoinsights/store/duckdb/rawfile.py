"""The raw tables in a file of their own, beside the database: `<db>.raw`, ATTACHed as `raw`.

Each DuckDB database has its own WAL and its own checkpoints. With every table in one file, DuckDB's automatic
checkpoint (the WAL past `wal_autocheckpoint_mb`) landed every ~10 s under live load, mostly in a derive commit,
and every ingest commit waited the 1-3 s it took: derivation writes ~16x the raw rows' volume to the WAL
(docs/benchmarks.md, "what stalls ingest at 20,000"). With the raw tables apart, ingest's commits wait only for the
raw file's checkpoints, which hold the raw rows alone.

The main file keeps a view of each raw table under the same name, so reads and the statements that only read them
are unchanged; writes name `raw.<table>` (schema.raw_table). A transaction writes one attached database only
(DuckDB's rule): the few that wrote raw and derived rows together run as two (retention, stats compaction).
"""

from __future__ import annotations

import logging
import os

import duckdb

from videoinsights.store.duckdb.schema import RAW, RAW_TABLES, TABLES, raw_table

log = logging.getLogger(__name__)


def raw_path(db_path: str) -> str:
    """Where the raw tables of the database at db_path live (in memory for an in-memory database)."""
    return ":memory:" if db_path.startswith(":memory:") else f"{db_path}.raw"


def database_files(db_path: str) -> tuple[str, ...]:
    """The files DuckDB keeps for the database at db_path: the main file and the raw file, each with its WAL (copy or
    back up all of them together, with the dedup keys file, store/duckdb/dedup.py)."""
    raw = raw_path(db_path)
    return db_path, f"{db_path}.wal", raw, f"{raw}.wal"


def attach_raw(con: duckdb.DuckDBPyConnection, db_path: str, read_only: bool) -> None:
    """ATTACH the raw file as `raw`. A read-only open of a file from before (its raw tables still in the main file,
    no raw file yet) attaches nothing: the tables are read where they are."""
    path = raw_path(db_path)
    if read_only and not os.path.exists(path):
        return
    escaped = path.replace("'", "''")
    con.execute(f"ATTACH '{escaped}' AS {RAW}" + (" (READ_ONLY)" if read_only else ""))


def _main_base_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                       "AND schema_name = 'main'").fetchall()
    return {r[0] for r in rows}


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Each raw table in the raw file and a view of it in the main file. A file from before (its raw
    tables in the main file, migrated up to here) has them moved: copied into the raw file (replacing a copy a crash
    left), then dropped and replaced by the view, table by table; a crash in between copies that table again."""
    in_main = _main_base_tables(con)
    for name in RAW_TABLES:
        ddl = TABLES[name].replace(f"EXISTS {name} (", f"EXISTS {raw_table(name)} (")
        if name in in_main:
            con.execute("SET enable_progress_bar = false")  # a server's log, not a terminal
            con.execute(ddl.replace("CREATE TABLE IF NOT EXISTS", "CREATE OR REPLACE TABLE"))
            con.execute(f"INSERT INTO {raw_table(name)} BY NAME SELECT * FROM main.{name}")
            con.execute(f"DROP TABLE main.{name}")
            log.info("raw table %s moved to the raw file", name)
        else:
            con.execute(ddl)
        con.execute(f"CREATE OR REPLACE VIEW main.{name} AS SELECT * FROM {raw_table(name)}")
