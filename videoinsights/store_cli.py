"""`videoinsights store init|ddl`: create a store's tables, or print the ClickHouse DDL, on one node or in the
cluster layout (store/clickhouse/cluster.py) with `--cluster NAME`."""

from __future__ import annotations

import argparse
from typing import Any

from videoinsights.settings import Settings
from videoinsights.store.base import Retention
from videoinsights.store.open import StoreURLError, open_store, parse_store_url


def _retention(settings: Settings) -> Retention:
    return Retention(settings.raw_retention_days, settings.minute_retention_hours)


def ddl_statements(settings: Settings, cluster: str | None) -> list[str]:
    """The statements `store init` runs on the store's database (ClickHouse only)."""
    from videoinsights.store.clickhouse.cluster import ClusterLayout
    from videoinsights.store.clickhouse.schema import create_statements

    parsed = parse_store_url(settings.store_url)
    if parsed.scheme == "duckdb":
        raise StoreURLError("store ddl prints ClickHouse DDL: give a ClickHouse store URL "
                            "(--store clickhouse://user:pass@host:8123/db)")
    if cluster is None:
        return create_statements(_retention(settings))
    return ClusterLayout(cluster, parsed.database).statements(_retention(settings))


def cmd_store_ddl(args: argparse.Namespace, settings: Settings) -> int:
    print(";\n\n".join(ddl_statements(settings, args.cluster)) + ";")
    return 0


def cmd_store_init(args: argparse.Namespace, settings: Settings) -> int:
    from videoinsights.web.pages.state import ensure_cookie_secret

    store = open_store(settings.store_url, retention=_retention(settings), cluster=args.cluster)
    try:
        ensure_cookie_secret(store)  # before several servers start, so that they never create two
        layout = getattr(store, "cluster", None)  # a ClickHouse database knows its layout
    finally:
        store.close()
    where = f" in the cluster layout of {layout.name}" if layout else ""
    print(f"store {parse_store_url(settings.store_url).redacted()} is ready{where}")
    return 0


def add_store_commands(sub: Any, command: Any) -> None:
    store = sub.add_parser("store", help="Create a store's tables or print their DDL.").add_subparsers(
        dest="action", required=True)
    for name, func, text in (
            ("init", cmd_store_init, "Create the store's tables (a ClickHouse cluster's, with --cluster)."),
            ("ddl", cmd_store_ddl, "Print the ClickHouse DDL of the store's database (a cluster's, with --cluster).")):
        p = command(name, func, text, store)
        p.add_argument("--cluster", help="a ClickHouse cluster (remote_servers) name: ReplicatedMergeTree tables on "
                                         "every node and Distributed tables sharded by session, created ON CLUSTER")
