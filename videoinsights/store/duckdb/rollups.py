"""Daily and monthly rollups kept by delta as sessions are re-derived (DuckDB).

A rollup row is the sum of its sessions' contribution rows (`session_endpoint_days` per project, day and endpoint
dimensions; `session_project_days` per project and day), and a month's row the sum of its days' rows. A derive
step used to delete the rollup rows its sessions touch and sum every contribution of those groups again: the
whole day's sessions for a busy group, so each step cost more as the day filled up (docs/benchmarks.md, "Rollups
by delta"). Now a step adds what its sessions changed: their old rows' sums are recorded (negated) before the rows
go, their new rows' sums once they are in, and each touched rollup row becomes its old value plus the difference.
A step's cost follows its sessions, whatever the size of their days.

A group that lost its last contribution (a session moved to other dimensions or days) is removed, as a rebuild
would not have it: a group with a new row is alive; the others are looked up among the contributions (rare, so
that lookup runs only when there is one).

Floats: a rollup is now its sums added in another order than a rebuild adds them, so the two agree to the last
bits (the incremental-equals-rebuild tests compare to 1e-9 relative); the additive measures are counts and sums.
"""

from __future__ import annotations

import duckdb

from videoinsights.derive.model import DIMENSIONS, ENDPOINT_MEASURES, PROJECT_MEASURES
from videoinsights.store.duckdb.schema import rows_of_keys

_MONTH = "CAST(date_trunc('month', day) AS DATE)"


class _Level:
    """One pair of rollup tables (daily, monthly) fed by one contribution table."""

    def __init__(self, name: str, source: str, daily: str, monthly: str, dims: tuple[str, ...],
                 measures: tuple[str, ...]) -> None:
        self.source, self.daily, self.monthly = source, daily, monthly
        self.delta, self.changed, self.month_changed = f"rollup_delta_{name}", f"rollup_d_{name}", f"rollup_dm_{name}"
        self.dims, self.measures = dims, measures
        cols = ", ".join(dims)
        self.group = f"project_id, day{', ' + cols if cols else ''}"
        self.month_group = f"project_id, month{', ' + cols if cols else ''}"
        self.sums = ", ".join(f"sum({m}) AS {m}" for m in measures)

    def same(self, a: str, b: str, period: str = "day") -> str:
        """SQL: rows a and b are of the same group (dimensions may be NULL)."""
        return " AND ".join([f"{a}.project_id = {b}.project_id", f"{a}.{period} = {b}.{period}",
                             *(f"{a}.{d} IS NOT DISTINCT FROM {b}.{d}" for d in self.dims)])

    def record(self, create: bool) -> str:
        """The sums of the keys' contribution rows per group: negated and `fresh` false before their old rows go
        (create), as they are and `fresh` true once the new ones are in."""
        sign = "" if not create else "-"
        sums = ", ".join(f"{sign}sum({m}) AS {m}" for m in self.measures)
        select = (f"SELECT {self.group}, {'false' if create else 'true'} AS fresh, {sums} FROM {self.source} "
                  f"WHERE {rows_of_keys(self.source)} GROUP BY {self.group}")
        return f"CREATE OR REPLACE TEMP TABLE {self.delta} AS {select}" if create else \
            f"INSERT INTO {self.delta} {select}"

    def apply(self, con: duckdb.DuckDBPyConnection) -> None:
        """Add the recorded differences to the daily rollups, then the monthly ones (the caller's transaction)."""
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.changed} AS SELECT {self.group}, bool_or(fresh) AS alive, "
                    f"{self.sums} FROM {self.delta} GROUP BY {self.group}")
        gone = con.execute(f"SELECT min(day) FROM {self.changed} WHERE NOT alive").fetchall()[0][0]
        if gone is not None:  # groups without a new row: alive if another session still contributes to them
            con.execute(f"UPDATE {self.changed} c SET alive = true WHERE NOT alive AND EXISTS (SELECT 1 FROM "
                        f"{self.source} s WHERE s.day >= DATE '{gone.isoformat()}' AND {self.same('s', 'c')})")
        self._replace(con, self.daily, self.changed, "day")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.month_changed} AS SELECT {self.month_group}, "
                    f"bool_or(alive) AS alive, {self.sums} FROM (SELECT *, {_MONTH} AS month FROM {self.changed}) "
                    f"GROUP BY {self.month_group}")
        if con.execute(f"SELECT count(*) FROM {self.month_changed} WHERE NOT alive").fetchall()[0][0]:
            con.execute(f"UPDATE {self.month_changed} c SET alive = true WHERE NOT alive AND EXISTS (SELECT 1 FROM "
                        f"(SELECT *, {_MONTH} AS month FROM {self.daily}) s WHERE {self.same('s', 'c', 'month')})")
        self._replace(con, self.monthly, self.month_changed, "month")

    def _replace(self, con: duckdb.DuckDBPyConnection, table: str, changed: str, period: str) -> None:
        """Each changed group's row of `table` becomes its old value plus the difference (a new row if it had
        none); a group no longer alive loses its row."""
        group = self.group if period == "day" else self.month_group
        cols = ", ".join(self.measures)
        added = ", ".join(f"coalesce(r.{m}, 0) + c.{m} AS {m}" for m in self.measures)
        keys = ", ".join(f"c.{g.strip()}" for g in group.split(","))
        con.execute(f"CREATE OR REPLACE TEMP TABLE rollup_next AS SELECT {keys}, {added} FROM {changed} c "
                    f"LEFT JOIN {table} r ON {self.same('r', 'c', period)} WHERE c.alive")
        con.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM {changed} c "
                    f"WHERE {self.same('t', 'c', period)})")
        con.execute(f"INSERT INTO {table} ({group}, {cols}) SELECT * FROM rollup_next")


LEVELS = (
    _Level("e", "session_endpoint_days", "rollup_endpoint_daily", "rollup_endpoint_monthly", DIMENSIONS,
           ENDPOINT_MEASURES),
    _Level("p", "session_project_days", "rollup_project_daily", "rollup_project_monthly", (), PROJECT_MEASURES),
)


def record_contributions(con: duckdb.DuckDBPyConnection, create: bool) -> None:
    """Record the sums of the contribution rows of the sessions in temp table `keys`: negated before their old
    rows are deleted (create=True), as they are once their new rows are in (create=False)."""
    for level in LEVELS:
        con.execute(level.record(create))


def apply_contributions(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the daily and monthly rollups of what was recorded up to date."""
    for level in LEVELS:
        level.apply(con)
