"""store/duckdb layer."""
