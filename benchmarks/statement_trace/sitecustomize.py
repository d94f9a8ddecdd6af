"""Every statement of a loaded server's derive connection timed, summed per statement and per minute.

bench_load's `--trace` gives a derive step's phases; this gives the statements under them, in the server as it runs
(bench_step_writes does so for steps run inline, without load). Python imports a `sitecustomize` module at start
wherever it finds one on its path, so a server started with this directory on PYTHONPATH and STATEMENT_TRACE set to
a directory wraps each DuckDBStore's derive connection and writes there, for each minute since the store opened,
`<pid>-<minute>.json`: {statement label: [count, seconds]} (labels as bench_step_writes gives them). Other processes
(the benchmark client, the derive worker processes) are left alone. Then `python -m
benchmarks.statement_trace.summary DIR` prints the statements by minute:

    PYTHONPATH=$PWD/benchmarks/statement_trace:$PWD STATEMENT_TRACE=/tmp/statements \\
        .venv/bin/python -m benchmarks.bench_load --rate 10000 --seconds 420 --idle-seconds 5

(Absolute paths: a `--baseline-python` server runs in its database's directory, where relative ones find nothing.)

With STATEMENT_EXPLAIN set to a regular expression as well, each statement whose label matches it (each text, its
numbers aside) runs as `EXPLAIN ANALYZE` the first time in each minute (DuckDB executes it all the same, writes
included), its profile written to `<pid>-<minute>-<label>-<hash of the text>.txt`: the row groups each scan read, and
where the time went, as the store grows. Only for statements whose result the caller does not read (UPDATE, DELETE,
INSERT, CREATE ... AS: others are left alone): it gets the profile instead.

With STATEMENT_PLAN set to a regular expression, the first PLAN_SAMPLES (3) runs in each minute of each matching
statement (its text, numbers aside) are first planned alone, as `EXPLAIN` (parsed, bound, optimised, never run), the
seconds under the label `PLAN <label>`: the share of a statement's time that is its fixed cost, whatever its rows
(the summary prints them beside the statements; a prepared statement pays most of it again: bench_plan_reuse). The
statement then runs as usual.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import zlib
from pathlib import Path
from typing import Any

OUT = os.environ.get("STATEMENT_TRACE")
EXPLAIN = os.environ.get("STATEMENT_EXPLAIN")
PLAN = os.environ.get("STATEMENT_PLAN")
PLAN_SAMPLES = 3  # statements planned alone per minute and text
_WRITES = re.compile(r"\s*(UPDATE|DELETE|INSERT|CREATE)\b", re.IGNORECASE)  # statements whose result goes unread
_PLANNABLE = re.compile(r"\s*(UPDATE|DELETE|INSERT|CREATE|SELECT|WITH)\b", re.IGNORECASE)  # what EXPLAIN takes


def _shape(sql: str) -> str:
    """A statement's text with its numbers aside: the runs profiled or planned per minute are counted by it."""
    return re.sub(r"\d+", "0", sql)


def _install(out: Path, explain: re.Pattern[str] | None, plan: re.Pattern[str] | None) -> None:
    from benchmarks.bench_step_writes import CountingConnection, statement_label
    from videoinsights.store.duckdb.store import DuckDBStore

    class MinuteStatements(CountingConnection):
        """bench_step_writes' timed connection (no stored table's writes counted: results pass through as they
        are), its statements written out and started again at each minute since the store opened."""

        def __init__(self, con: Any) -> None:
            super().__init__(con, {})
            self._opened = time.monotonic()
            self._minute = 0
            self._explained: set[str] = set()  # statements profiled this minute, numbers aside
            self._planned: dict[str, int] = {}  # statements planned alone this minute (numbers aside): how often

        def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
            try:
                if plan is not None and _PLANNABLE.match(sql):
                    self._plan_alone(plan, sql, *args, **kwargs)
                if explain is not None and _WRITES.match(sql):
                    label = statement_label(sql)
                    shape = _shape(sql)
                    if shape not in self._explained and explain.search(label):
                        self._explained.add(shape)
                        return self._explain(label, shape, sql, *args, **kwargs)
                return super().execute(sql, *args, **kwargs)
            finally:
                minute = int((time.monotonic() - self._opened) // 60)
                if minute != self._minute:
                    (out / f"{os.getpid()}-{self._minute:03d}.json").write_text(json.dumps(self.statements))
                    self.statements.clear()
                    self._explained.clear()
                    self._planned.clear()
                    self._minute = minute

        def _plan_alone(self, plan: re.Pattern[str], sql: str, *args: Any, **kwargs: Any) -> None:
            """Time `EXPLAIN sql` (planned, not run) under `PLAN <label>`, for the first PLAN_SAMPLES of its text."""
            label = statement_label(sql)
            shape = _shape(sql)
            if self._planned.get(shape, 0) >= PLAN_SAMPLES or not plan.search(label):
                return
            self._planned[shape] = self._planned.get(shape, 0) + 1
            t = time.perf_counter()
            self._con.execute(f"EXPLAIN {sql}", *args, **kwargs).fetchall()
            sampled = self.statements[f"PLAN {label}"]
            sampled[0] += 1
            sampled[1] += time.perf_counter() - t

        def _explain(self, label: str, shape: str, sql: str, *args: Any, **kwargs: Any) -> Any:
            """Run the statement as EXPLAIN ANALYZE, timed as itself, its profile written out."""
            t = time.perf_counter()
            result = self._con.execute(f"EXPLAIN ANALYZE {sql}", *args, **kwargs)
            self.statements[label][0] += 1
            self.statements[label][1] += time.perf_counter() - t
            name = f'{re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")[:60]}-{zlib.crc32(shape.encode()):08x}'
            profile = "\n".join(str(row[-1]) for row in result.fetchall())
            (out / f"{os.getpid()}-{self._minute:03d}-{name}.txt").write_text(f"{sql}\n\n{profile}\n")
            return result

    opened = DuckDBStore.__init__

    def timed_init(self: DuckDBStore, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        self._dcon = MinuteStatements(self._dcon)

    DuckDBStore.__init__ = timed_init


if OUT and "serve" in sys.argv:  # the server (`python -m videoinsights --db ... serve`), not its workers
    Path(OUT).mkdir(parents=True, exist_ok=True)
    _install(Path(OUT), re.compile(EXPLAIN) if EXPLAIN else None, re.compile(PLAN) if PLAN else None)
