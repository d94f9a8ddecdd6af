"""Which store a URL names, and opening it: the one place that picks a backend.

    duckdb:///abs/path.duckdb                 the embedded default (one owning process)
    chdb:///abs/dir[?database=name]           ClickHouse's engine in this process (tests, single-node trials)
    clickhouse://user:pass@host:8123/db       a ClickHouse server or cluster over HTTP (clickhouse-connect)
    clickhouses://...                         the same over HTTPS

A bare path (the `db` setting, `--db`) means duckdb://. Bad URLs raise StoreURLError with a message
saying what is wrong, before anything is opened.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from videoinsights.store.base import Store

SCHEMES = ("duckdb", "chdb", "clickhouse", "clickhouses")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # fullmatch: "$" would let a trailing newline in


class StoreURLError(ValueError):
    """The store URL cannot be used; the message says why."""


@dataclass(frozen=True)
class StoreURL:
    scheme: str  # "duckdb" | "chdb" | "clickhouse"
    path: str = ""  # duckdb file / chdb directory (absolute)
    database: str = "videoinsights"  # chdb and clickhouse
    host: str = ""
    port: int = 8123
    username: str = "default"
    password: str = ""
    secure: bool = False

    @property
    def is_clickhouse(self) -> bool:
        return self.scheme != "duckdb"

    def redacted(self) -> str:
        """The URL without its password (for logs and errors)."""
        if self.scheme == "duckdb":
            return f"duckdb://{self.path}"
        if self.scheme == "chdb":
            return f"chdb://{self.path}?database={self.database}"
        scheme = "clickhouses" if self.secure else "clickhouse"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.database}"


def _database(name: str, url: str) -> str:
    if not _NAME.fullmatch(name):
        raise StoreURLError(f"bad database name {name!r} in store URL {url!r}: letters, digits and _ only")
    return name


def parse_store_url(url: str) -> StoreURL:
    """Parse a store URL (or a bare DuckDB path)."""
    if not url or not url.strip():
        raise StoreURLError("the store URL is empty")
    if "://" not in url:
        return StoreURL("duckdb", path=url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise StoreURLError(f"unknown store {scheme!r} in {url!r}: use one of {', '.join(s + '://' for s in SCHEMES)}")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    if scheme in ("duckdb", "chdb"):
        if parts.netloc:
            raise StoreURLError(f"{scheme}:// takes an absolute path ({scheme}:///abs/path), not a host: {url!r}")
        path = unquote(parts.path)
        if not path.startswith("/") or path == "/":
            raise StoreURLError(f"{scheme}:// needs an absolute path, as {scheme}:///abs/path: {url!r}")
        unknown = set(query) - ({"database"} if scheme == "chdb" else set())
        if unknown:
            raise StoreURLError(f"unknown option(s) {', '.join(sorted(unknown))} in {url!r}")
        if scheme == "duckdb":
            return StoreURL("duckdb", path=path)
        return StoreURL("chdb", path=path, database=_database(query.get("database", "videoinsights"), url))
    if not parts.hostname:
        raise StoreURLError(f"{scheme}:// needs a host, as {scheme}://user:pass@host:8123/db: {url!r}")
    try:
        port = parts.port or (8443 if scheme == "clickhouses" else 8123)
    except ValueError:
        raise StoreURLError(f"bad port in {url!r}") from None
    if query:
        raise StoreURLError(f"unknown option(s) {', '.join(sorted(query))} in {url!r}")
    name = parts.path.strip("/") or "videoinsights"
    return StoreURL("clickhouse", database=_database(name, url), host=parts.hostname, port=port,
                    username=unquote(parts.username or "default"), password=unquote(parts.password or ""),
                    secure=scheme == "clickhouses")


def store_url_of(settings: Any) -> str:
    """The store a Settings names: `store` when set, else the DuckDB file of `db` (the older setting)."""
    store = getattr(settings, "store", "")
    return store or f"duckdb://{os.path.abspath(settings.db)}"


def duckdb_path(url: str) -> str | None:
    """The DuckDB file a store URL names, or None for a ClickHouse store (the sidecar and file-size checks
    that only make sense for one local file)."""
    parsed = parse_store_url(url)
    return parsed.path if parsed.scheme == "duckdb" else None


def duckdb_options(settings: Any) -> dict[str, Any]:
    """DuckDBStore's tuning keywords from the settings (the server's, and benchmarks opening a store as it does)."""
    # DuckDB checkpoints inside the commit that would take a WAL past its own threshold, one for every file: at the
    # derive thread's (or the writer's) threshold itself, that commit is theirs, and their checks between commits never
    # find it reached. Twice the larger leaves both files' checkpoints to them (docs/benchmarks.md).
    wal_mb = 2 * max(settings.wal_autocheckpoint_mb, settings.derived_wal_checkpoint_mb)
    return {"wal_autocheckpoint_mb": wal_mb,
            "memory_limit_mb": settings.duckdb_memory_limit_mb, "threads": settings.duckdb_threads,
            "event_cache_mb": settings.derive_event_cache_mb, "quality_refresh_s": settings.quality_refresh_s,
            "score_samples": settings.quality_scoring, "stats_fold_s": settings.stats_fold_s,
            "quality_pass_s": settings.quality_pass_s}


def open_store(url: str, *, read_only: bool = False, retention: Any = None,
               duckdb_options: dict[str, Any] | None = None, cluster: str | None = None) -> Store:
    """Open the store a URL names (creating its tables if needed).

    duckdb_options: DuckDBStore's tuning keywords (wal_autocheckpoint_mb, memory_limit_mb, threads, event_cache_mb,
    quality_refresh_s, score_samples, stats_fold_s, quality_pass_s);
    not ClickHouse's.
    cluster: create the tables in the cluster layout for this cluster (store/clickhouse/cluster.py); a server's only.
    """
    parsed = parse_store_url(url)
    if cluster is not None:
        check_cluster(parsed, cluster)
    if parsed.scheme == "duckdb":
        from videoinsights.store.duckdb.store import DuckDBStore

        return DuckDBStore(parsed.path, read_only=read_only, **(duckdb_options or {}))
    from videoinsights.store.clickhouse.client import ChdbClient, HttpClient
    from videoinsights.store.clickhouse.store import ClickHouseStore

    if parsed.scheme == "chdb":
        try:
            client: Any = ChdbClient(parsed.path, parsed.database)
        except ImportError:
            raise StoreURLError("chdb:// needs the chdb package (pip install chdb)") from None
    else:
        try:
            client = HttpClient(parsed.host, parsed.port, parsed.username, parsed.password, parsed.database,
                                parsed.secure)
        except ImportError:
            raise StoreURLError("clickhouse:// needs clickhouse-connect (pip install 'videoinsights[clickhouse]')") \
                from None
        except Exception as exc:  # the server is down, refuses the credentials, ...
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise StoreURLError(f"cannot use the ClickHouse store {parsed.redacted()}: {reason}") from exc
    layout = None
    if cluster is not None:
        from videoinsights.store.clickhouse.cluster import ClusterLayout

        layout = ClusterLayout(cluster, parsed.database)
    return ClickHouseStore(client, read_only=read_only, retention=retention, cluster=layout)


def check_cluster(parsed: StoreURL, cluster: str) -> None:
    """Refuse a cluster layout where it cannot work (`store init|ddl --cluster`)."""
    if parsed.scheme != "clickhouse":
        raise StoreURLError(f"--cluster needs a ClickHouse server store (clickhouse://...), not {parsed.scheme}://: "
                            "a cluster's tables are Replicated (Keeper) and Distributed")
    if not _NAME.fullmatch(cluster):
        raise StoreURLError(f"bad cluster name {cluster!r}: letters, digits and _ only")
