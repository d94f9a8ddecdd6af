"""Bring a ClickHouse store created by an older version to schema.SCHEMA_VERSION, when a writing store
opens it (ClickHouseStore). Run it with no derive process running: the rollups are rebuilt from the
contribution rows, and a session derived meanwhile could be counted twice or not at all.

- 1 -> 2: rollups were views summing the per-session contributions at every read, plus the monthly
  archives the purge folded days into. Now they are stored sums fed from the contribution tables
  (schema.py): the contribution tables get their hidden `sign` column, the sums are filled from their
  rows (the monthly ones from the archives too), then the feeds and views are created and the archives
  dropped. Each step can run again after a crash: the sums are dropped and refilled until version 2 is
  written, which happens before the archives are dropped.
- 2 -> 3: the per-session derived tables keep `_block_number` and `_block_offset` (schema.PATCHABLE), so
  their DELETEs write patch parts instead of running mutations. `MODIFY SETTING` is instant and can run
  again; the parts written before it are patched too.
- 3 -> 4: the raw tables lose their TTL (`REMOVE TTL`: metadata only, it deletes nothing): the purge keeps the
  raw rows of a session with events on both sides of the raw window's start, which the TTL deleted at merges.
  A cluster's tables (`store init --cluster`) are not migrated here: run the statement on its local raw tables.
"""

from __future__ import annotations

from videoinsights.derive.model import DIMENSIONS
from videoinsights.store.base import Retention
from videoinsights.store.clickhouse import versioned
from videoinsights.store.clickhouse.client import Client
from videoinsights.store.clickhouse.schema import (
    CONTRIBUTION_TABLES,
    DERIVED_SESSION_TABLES,
    PATCHABLE,
    SCHEMA_VERSION,
    SIGN,
    feed_select,
    rollup_statements,
    rollups,
)

# Version 1's monthly archives: the day rows the purge had folded into months before deleting them.
V1_ARCHIVES = {"rollup_endpoint_monthly": "rollup_endpoint_monthly_archive",
               "rollup_project_monthly": "rollup_project_monthly_archive"}


def stored_version(client: Client) -> int | None:
    """The schema version the database was written with (None: a new database)."""
    if not client.query_rows("EXISTS TABLE meta")[0][0]:
        return None
    found = client.query_rows("SELECT value FROM meta FINAL WHERE key = 'schema_version'")
    return int(found[0][0]) if found else None


def migrate(client: Client, retention: Retention | None) -> None:
    version = stored_version(client)
    if version is None or version >= SCHEMA_VERSION:
        return
    if version == 1:
        _stored_rollups(client, retention)
    if version <= 2:
        _patchable_derived_tables(client)
    _raw_tables_without_ttl(client)


def _stored_rollups(client: Client, retention: Retention | None) -> None:
    for rollup in rollups(retention):
        client.command(f"DROP VIEW IF EXISTS {rollup.feed}")
        client.command(f"DROP VIEW IF EXISTS {rollup.name}")  # version 1's view, or this step's after a crash
        client.command(f"DROP TABLE IF EXISTS {rollup.sums}")
    for table in CONTRIBUTION_TABLES:
        client.command(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {SIGN}")
    for rollup in rollups(retention):
        sums, feed, view = rollup_statements(rollup)
        client.command(sums)
        client.command(f"INSERT INTO {rollup.sums} {feed_select(rollup)}")
        archive = V1_ARCHIVES.get(rollup.name)
        if archive and client.query_rows(f"EXISTS TABLE {archive}")[0][0]:
            dims = "".join(f", {d}" for d in DIMENSIONS) if rollup.dims else ""
            client.command(f"INSERT INTO {rollup.sums} SELECT project_id, month{dims}, "
                           f"{', '.join(rollup.measures)}, 1 FROM {archive}")
        client.command(feed)
        client.command(view)
    # The version first: a crash before the archives are dropped must not refill the sums without them.
    versioned.put(client, "meta", {"key": "schema_version", "value": "2"})
    for archive in V1_ARCHIVES.values():
        client.command(f"DROP TABLE IF EXISTS {archive}")


def _patchable_derived_tables(client: Client) -> None:
    for table in DERIVED_SESSION_TABLES:
        client.command(f"ALTER TABLE {table} MODIFY SETTING {PATCHABLE}")


def _raw_tables_without_ttl(client: Client) -> None:
    for table in ("events", "stats_samples"):
        ddl = client.query_rows("SELECT create_table_query FROM system.tables WHERE database = currentDatabase() "
                                "AND name = {t:String}", {"t": table})
        if ddl and " TTL " in ddl[0][0]:  # (REMOVE TTL fails on a table without one: a crash after the first)
            client.command(f"ALTER TABLE {table} REMOVE TTL")
