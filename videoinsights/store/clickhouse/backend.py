"""The ClickHouse backend's SQL modules, as one namespace: `ClickHouseStore.sql` (the same module set,
functions and rows as store/duckdb/backend.py)."""

from videoinsights.store.clickhouse import accounts, alerts, client_keys, export, live, reads

__all__ = ["accounts", "alerts", "client_keys", "export", "live", "reads"]
