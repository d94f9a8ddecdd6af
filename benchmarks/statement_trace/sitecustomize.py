"""Every statement of a loaded server's derive connection timed, summed per statement and per minute.

bench_load's `--trace` gives a derive step's phases; this gives the statements under them, in the server as it runs
(bench_step_writes does so for steps run inline, without load). Python imports a `sitecustomize` module at start
wherever it finds one on its path, so a server started with this directory on PYTHONPATH and STATEMENT_TRACE set to
a directory wraps each DuckDBStore's derive connection and writes there, for each minute since the store opened,
`<pid>-<minute>.json`: {statement label: [count, seconds]} (labels as bench_step_writes gives them). Other processes
(the benchmark client, the derive worker processes) are left alone. Then `python -m
benchmarks.statement_trace.summary DIR` prints the statements by minute:

    PYTHONPATH=benchmarks/statement_trace:. STATEMENT_TRACE=/tmp/statements \\
        .venv/bin/python -m benchmarks.bench_load --rate 10000 --seconds 420 --idle-seconds 5
"""

from __future__ import annotations

import collections
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

OUT = os.environ.get("STATEMENT_TRACE")


class TimedConnection:
    """A DuckDB connection whose execute() calls are timed; everything else passes through."""

    def __init__(self, con: Any, out: Path, label: Any) -> None:
        self._con, self._out, self._label = con, out, label
        self._opened = time.monotonic()
        self._minute = 0
        self._seconds: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            summed = self._seconds[self._label(sql)]
            summed[0] += 1
            summed[1] += time.perf_counter() - started
            minute = int((time.monotonic() - self._opened) // 60)
            if minute != self._minute:
                (self._out / f"{os.getpid()}-{self._minute:03d}.json").write_text(json.dumps(self._seconds))
                self._seconds = collections.defaultdict(lambda: [0, 0.0])
                self._minute = minute


def _install(out: Path) -> None:
    from benchmarks.bench_step_writes import statement_label
    from videoinsights.store.duckdb.store import DuckDBStore

    opened = DuckDBStore.__init__

    def timed_init(self: DuckDBStore, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        self._dcon = TimedConnection(self._dcon, out, statement_label)

    DuckDBStore.__init__ = timed_init


if OUT and "serve" in sys.argv:  # the server (`python -m videoinsights --db ... serve`), not its workers
    Path(OUT).mkdir(parents=True, exist_ok=True)
    _install(Path(OUT))
