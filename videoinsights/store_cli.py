"""`videoinsights store init|ddl`: create a store's tables, or print the ClickHouse DDL, on one node or in the
cluster layout (store/clickhouse/cluster.py) with `--cluster NAME`."""

from __future__ import annotations

import argparse
from typing import Any

from videoinsights.settings import Settings
from videoinsights.store.base import Retention
from videoinsights.store.open import StoreURLError, check_cluster, open_store, parse_store_url


def ddl_statements(settings: Settings, cluster: str | None) -> list[str]:
    """The statements `store init` runs on the store's database (ClickHouse only)."""
    from videoinsights.store.clickhouse.cluster import ClusterLayout
    from videoinsights.store.clickhouse.schema import create_statements

    parsed = parse_store_url(settings.store_url)
    if parsed.scheme == "duckdb":
        raise StoreURLError("store ddl prints ClickHouse DDL: give a ClickHouse store URL "
                            "(--store clickhouse://user:pass@host:8123/db)")
    if cluster is None:
        return create_statements(Retention.of(settings))
    check_cluster(parsed, cluster)
    return ClusterLayout(cluster, parsed.database).statements(Retention.of(settings))


def cmd_store_ddl(args: argparse.Namespace, settings: Settings) -> int:
    print(";\n\n".join(ddl_statements(settings, args.cluster)) + ";")
    return 0


def prepare_store(settings: Settings, cluster: str | None = None) -> Any:
    """Create the store's tables (with the retention TTLs) and its cookie-signing secret, before several server
    processes start, so that they never create two; returns a ClickHouse database's cluster layout (or None)."""
    from videoinsights.web.pages.state import ensure_cookie_secret

    store = open_store(settings.store_url, retention=Retention.of(settings), cluster=cluster)
    try:
        ensure_cookie_secret(store)
        return getattr(store, "cluster", None)  # a ClickHouse database knows its layout
    finally:
        store.close()


def cmd_store_init(args: argparse.Namespace, settings: Settings) -> int:
    layout = prepare_store(settings, args.cluster)
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
