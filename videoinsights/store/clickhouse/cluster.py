"""The cluster layout: the single-node DDL of schema.py turned into a sharded, replicated one.

Generated from `create_statements()` by rewriting each statement, so every table schema.py gets (and any
it gains later) gets its cluster form for free:

- A table with a `session_id` column (raw events, samples, dirty tokens, session bounds, derived rows) becomes
  `<name>_local`, a Replicated* variant of its engine on every node (Keeper path per shard), plus `<name>`, a
  Distributed table over the locals sharded by `cityHash64(project_id, session_id)`: all of a session's rows
  live on one shard, so its re-derivation, `LIMIT 1 BY event_id` and FINAL stay shard-local. The application
  reads and inserts through the Distributed names, as on one node.
- Other data tables (the monthly archives, stored rollup sums) are Distributed too, with a hash of their sort
  key: rows inserted through the Distributed table land on one shard per key. A table filled by a
  materialised view gets its rows on the shard of the rows that fed the view (the view runs there, into the
  local table), so read such tables grouped by key across shards, as the rollup views do.
- Metadata (projects, accounts, keys, alert state, meta: the ReplacingMergeTree(version, is_deleted) tables)
  is small and read with FINAL on every request: one replicated table on every node of the cluster (one
  Keeper path for the whole cluster), no Distributed.
- Materialised views are attached to the local tables, so they run on the shard that received the rows and
  write into that shard's local target. Plain views (rollups computed at read time) read the Distributed names.

Lightweight DELETE is not supported on a Distributed table: deletes go to `<name>_local ON CLUSTER`
(`delete_target`). `replicated=False` gives one node's statements with plain engines and no ON CLUSTER: a
cluster without Keeper, where they are applied on each node (and the tests, which have no Keeper).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

import pyarrow as pa

from videoinsights.store.base import Retention
from videoinsights.store.clickhouse.client import Client
from videoinsights.store.clickhouse.schema import VERSIONED_TABLES, create_statements
from videoinsights.store.open import StoreURLError

_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+) \(")
_ENGINE = re.compile(r"ENGINE = (\w*MergeTree)(?:\(([^()]*)\))?")
_ORDER = re.compile(r"ORDER BY \(([^()]*)\)")
_VIEW = re.compile(r"^CREATE (MATERIALIZED VIEW|VIEW) IF NOT EXISTS (\w+) ")
_SESSION_COLUMN = re.compile(r"^\s*session_id ", re.M)
LOCAL_SUFFIX = "_local"
META_KEY = "cluster_layout"  # the `meta` row that says a database was created in a cluster layout


@dataclass(frozen=True)
class ClusterLayout:
    """Where a database's tables live on cluster `name` (as declared in the servers' `remote_servers`)."""

    name: str
    database: str
    replicated: bool = True  # Replicated* engines and ON CLUSTER (needs Keeper); False: one node's plain tables

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER {self.name}" if self.replicated else ""

    def sharded_tables(self, retention: Retention | None = None) -> dict[str, str]:
        """Each Distributed table's name -> its sharding key."""
        out = {}
        for ddl in create_statements(retention):
            m = _TABLE.match(ddl)
            if m and m.group(1) not in VERSIONED_TABLES:
                out[m.group(1)] = _sharding_key(ddl)
        return out

    def statements(self, retention: Retention | None = None) -> list[str]:
        """Every CREATE of the cluster layout, in an order that can be applied top to bottom."""
        sharded = self.sharded_tables(retention)
        out: list[str] = []
        for ddl in create_statements(retention):
            table = _TABLE.match(ddl)
            view = _VIEW.match(ddl)
            if table and table.group(1) in sharded:
                out += self._sharded(ddl, table.group(1), sharded[table.group(1)])
            elif table:
                out.append(self._everywhere(ddl, table.group(1)))
            elif view and view.group(1) == "MATERIALIZED VIEW":
                out.append(self._materialized_view(ddl, view, sharded))
            elif view:
                out.append(_after(ddl, view.end() - 1, self.on_cluster))
            else:
                raise ValueError(f"no cluster form for {ddl.splitlines()[0]!r}")
        return out

    def delete_target(self, table: str) -> str:
        """What a lightweight DELETE of `table`'s rows names: the local tables on every node for a sharded table
        (a Distributed table refuses DELETE); a metadata table's replicas share its deletes."""
        if table in VERSIONED_TABLES:
            return table
        return f"{table}{LOCAL_SUFFIX}{self.on_cluster}"

    @property
    def settings(self) -> dict[str, str]:
        """Settings of every statement on the cluster. An insert into a Distributed table returns once the shard
        has the rows (by default it returns once they are queued on the receiving node: a dirty token could then
        reach its shard before the events it stands for, and be cleared by a derivation that never saw them).
        A Distributed table inside a subquery or JOIN of another runs once, on the initiator (correct whatever the
        sharding of the two; DuckDB-like SQL with such joins would otherwise be refused)."""
        return {"distributed_foreground_insert": "1", "distributed_product_mode": "global"}

    # -- rewriting ---------------------------------------------------------------------------------------
    def _engine(self, ddl: str, path: str, replica: str) -> str:
        if not self.replicated:
            return ddl

        def replicated(m: re.Match[str]) -> str:
            args = f"'{path}', '{replica}'" + (f", {m.group(2)}" if m.group(2) else "")
            return f"ENGINE = Replicated{m.group(1)}({args})"

        ddl = _ENGINE.sub(replicated, ddl, count=1)
        # MergeTree's own retry deduplication window has a replicated counterpart (kept in Keeper)
        return ddl.replace("non_replicated_deduplication_window", "replicated_deduplication_window")

    def _sharded(self, ddl: str, name: str, key: str) -> list[str]:
        local = name + LOCAL_SUFFIX
        head = _TABLE.match(ddl)
        assert head is not None
        local_ddl = f"CREATE TABLE IF NOT EXISTS {local}{self.on_cluster} (" + ddl[head.end():]
        local_ddl = self._engine(local_ddl, f"/clickhouse/tables/{{shard}}/{self.database}/{local}", "{replica}")
        distributed = (f"CREATE TABLE IF NOT EXISTS {name}{self.on_cluster} AS {local}\n"
                       f"ENGINE = Distributed({self.name}, {self.database}, {local}, {key})")
        return [local_ddl, distributed]

    def _everywhere(self, ddl: str, name: str) -> str:
        """A table with one replica on every node of the cluster (all shards share one Keeper path)."""
        ddl = _after(ddl, _TABLE.match(ddl).end() - 2, self.on_cluster)  # type: ignore[union-attr]
        return self._engine(ddl, f"/clickhouse/tables/all/{self.database}/{name}", "{shard}-{replica}")

    def _materialized_view(self, ddl: str, view: re.Match[str], sharded: dict[str, str]) -> str:
        """The view on the local tables: it sees the rows its node's shard receives, writes its local target."""
        body = ddl[view.end():]
        for table in sharded:
            body = re.sub(rf"\b{table}\b", table + LOCAL_SUFFIX, body)
        return f"{ddl[:view.end() - 1]}{self.on_cluster} {body}"


def _after(text: str, index: int, insert: str) -> str:
    return text[:index] + insert + text[index:]


def _sharding_key(ddl: str) -> str:
    """Sessions stay whole on one shard; a table without sessions is spread by its sort key."""
    if _SESSION_COLUMN.search(ddl):
        return "cityHash64(project_id, session_id)"
    order = _ORDER.search(ddl)
    if order is None:
        raise ValueError(f"no sort key to shard {ddl.splitlines()[0]!r} by")
    return f"cityHash64(tuple({order.group(1)}))"  # a tuple's hash is never NULL, even of Nullable dimensions


class LayoutError(StoreURLError):
    """The database cannot take the cluster layout asked for; the message says why."""


def check_can_create(client: Client, layout: ClusterLayout) -> None:
    """Refuse to lay a cluster over a database created otherwise: its single-node tables would keep the names
    the Distributed tables need, and the store would then delete from local tables that hold nothing."""
    existing = read_layout(client)
    if existing is None and client.query_rows("EXISTS TABLE meta")[0][0]:
        raise LayoutError(f"database {layout.database} was created single-node: a cluster layout needs a new "
                          "database (create it with store init --cluster, then copy the data over)")
    if existing is not None and existing != layout:
        raise LayoutError(f"database {layout.database} has the cluster layout of {existing.name}"
                          f"{'' if existing.replicated else ' (without Keeper)'}, not of {layout.name}")


def read_layout(client: Client) -> ClusterLayout | None:
    """The cluster layout a database was created in (its `meta` row), or None: single-node or not created yet."""
    if not client.query_rows("EXISTS TABLE meta")[0][0]:
        return None
    rows = client.query_rows("SELECT value FROM meta FINAL WHERE key = {k:String}", {"k": META_KEY})
    return ClusterLayout(**json.loads(rows[0][0])) if rows else None


def write_layout(client: Client, layout: ClusterLayout, version: int) -> None:
    client.insert_arrow("meta", pa.table({"key": [META_KEY], "value": [json.dumps(asdict(layout))],
                                          "version": pa.array([version], pa.int64())}))
