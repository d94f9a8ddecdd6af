"""What reusing a plan saves on DuckDB: a derive step's kind of statement (an INSERT ... SELECT of 125 sums grouped by
six dimensions, as the rollup refresh writes) run with `execute` each time (the baseline: what the store does), with
its bound as a parameter, as `EXECUTE` of a statement prepared once, and its `EXPLAIN` alone; once over rows it
aggregates and once with a bound past them (the statement's fixed cost). Medians of wall time, ratios against the
baseline measured in the same run (docs/benchmarks.md, stop 54: a step's statements are a third to half fixed cost).

    .venv/bin/python -m benchmarks.bench_plan_reuse [--rows 2000] [--runs 21]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import duckdb

from benchmarks.common import median_ms

MEASURES = tuple(f"m{i}" for i in range(125))
DIMENSIONS = tuple(f"d{i}" for i in range(6))
FIRST_DAY = "2026-12-01"  # the rows fall on three days from here


def _table(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    columns = ", ".join((*(f"{d} VARCHAR" for d in DIMENSIONS), *(f"{m} DOUBLE" for m in MEASURES)))
    con.execute(f"CREATE TABLE src (project_id VARCHAR, day DATE, {columns})")
    con.execute("CREATE TABLE dst AS SELECT * FROM src LIMIT 0")
    dims = ", ".join(f"'x' || (i % {j + 2})" for j in range(len(DIMENSIONS)))
    sums = ", ".join("random()" for _ in MEASURES)
    con.execute(f"INSERT INTO src SELECT 'p', DATE '{FIRST_DAY}' + (i % 3)::INTEGER, {dims}, {sums} "
                f"FROM range({rows}) r(i)")


def _ways(con: duckdb.DuckDBPyConnection, since: str) -> dict[str, Callable[[], object]]:
    """The same statement, each way of running it."""
    body = (f"SELECT project_id, day, {', '.join(DIMENSIONS)}, {', '.join(f'sum({m})' for m in MEASURES)} "
            "FROM src WHERE day >= {bound} GROUP BY ALL")
    literal = "INSERT INTO dst " + body.format(bound=f"DATE '{since}'")
    con.execute("PREPARE refresh AS INSERT INTO dst " + body.format(bound="$1::DATE"))
    return {
        "execute, bound as a constant (the store's way)": lambda: con.execute(literal).fetchall(),
        "execute, bound as a parameter": lambda: con.execute("INSERT INTO dst " + body.format(bound="$since::DATE"),
                                                             {"since": since}).fetchall(),
        "EXECUTE of a statement prepared once": lambda: con.execute(f"EXECUTE refresh('{since}')").fetchall(),
        "EXPLAIN alone": lambda: con.execute("EXPLAIN " + literal).fetchall(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    con = duckdb.connect()
    _table(con, args.rows)
    for title, since in (("rows on two of the three days", "2026-12-02"), ("no row (a bound past them)", "2027-01-01")):
        ways = _ways(con, since)
        baseline = None
        print(f"\n{title}: median of {args.runs} runs")
        for name, run in ways.items():
            ms = median_ms(run, args.runs, warmup=1)
            baseline = baseline or ms
            print(f"  {name:48s} {ms:7.2f} ms  {ms / baseline:5.2f}x")
        con.execute("DEALLOCATE refresh")
        con.execute("DELETE FROM dst")


if __name__ == "__main__":
    main()
