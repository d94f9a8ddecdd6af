"""The DuckDB backend's SQL modules, as one namespace: `DuckDBStore.sql`.

Query, web, auth, account and alert code reach their SQL through the store they were given
(`store.sql.reads`, `store.sql.accounts`, ...), never by importing a backend package, so the
same code runs on every backend (store/clickhouse/backend.py has the same module set).
"""

from videoinsights.store.duckdb import accounts, alerts, client_keys, export, live, reads

__all__ = ["accounts", "alerts", "client_keys", "export", "live", "reads"]
