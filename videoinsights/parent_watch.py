"""Processes the server starts end when the process that started them is gone.

A derive worker (and each process of `serve --workers`) is started with `spawn` and holds both ends of its
parent's pipes, so it never reads an end of file when the parent is killed (SIGKILL, the OOM killer): it
would live on, idle, keeping its memory (and a server process the listening socket) until the machine
restarts. A watcher thread notices the new parent instead and stops the process as a SIGTERM would."""

from __future__ import annotations

import os
import signal
import threading
import time


def exit_with_parent(parent_pid: int, interval_s: float = 1.0) -> None:
    """Send this process SIGTERM (a server stops gracefully, a pool worker ends) once `parent_pid` is no longer
    its parent; checks every `interval_s` on a daemon thread."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="videoinsights-parent-watch", daemon=True).start()
