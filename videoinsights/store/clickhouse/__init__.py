"""ClickHouse backend: a ClickHouse server or cluster (clickhouse-connect) or its engine in-process (chdb)."""
