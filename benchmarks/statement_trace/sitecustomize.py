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

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

OUT = os.environ.get("STATEMENT_TRACE")


def _install(out: Path) -> None:
    from benchmarks.bench_step_writes import CountingConnection
    from videoinsights.store.duckdb.store import DuckDBStore

    class MinuteStatements(CountingConnection):
        """bench_step_writes' timed connection (no stored table's writes counted: results pass through as they
        are), its statements written out and started again at each minute since the store opened."""

        def __init__(self, con: Any) -> None:
            super().__init__(con, {})
            self._opened = time.monotonic()
            self._minute = 0

        def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().execute(sql, *args, **kwargs)
            finally:
                minute = int((time.monotonic() - self._opened) // 60)
                if minute != self._minute:
                    (out / f"{os.getpid()}-{self._minute:03d}.json").write_text(json.dumps(self.statements))
                    self.statements.clear()
                    self._minute = minute

    opened = DuckDBStore.__init__

    def timed_init(self: DuckDBStore, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        self._dcon = MinuteStatements(self._dcon)

    DuckDBStore.__init__ = timed_init


if OUT and "serve" in sys.argv:  # the server (`python -m videoinsights --db ... serve`), not its workers
    Path(OUT).mkdir(parents=True, exist_ok=True)
    _install(Path(OUT))
