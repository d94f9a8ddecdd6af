"""Derivation at a lower CPU priority than ingest and the API (Linux niceness, setting `derive_nice`).

Under a load the cores cannot all serve, derivation is behind and takes every cycle it is given, and ingest (HTTP,
validation, the writer's commits) waited for a core: bench_load acknowledged 84-92% of 20,000 events/s. Accepting
events comes first, since a 2xx is the promise that matters and derivation catches up from the raw events later. So
the derive thread and its worker processes run a few steps nicer: the kernel hands the cores to ingest and the API
when they want them, and derivation still has every idle cycle (docs/benchmarks.md, "Derivation at a lower CPU
priority"). A thread's niceness is its own on Linux (set by its thread id), and threads and processes it starts
inherit it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

MAX_NICENESS = 19


def niceness_for(steps: int) -> int | None:
    """The niceness `steps` above the calling thread's (at most 19); None where it does not apply (no steps asked,
    or not Linux, where a thread id is not a process id)."""
    if steps <= 0 or not sys.platform.startswith("linux"):
        return None
    return min(MAX_NICENESS, os.getpriority(os.PRIO_PROCESS, 0) + steps)


def set_thread_niceness(niceness: int | None) -> None:
    """Give the calling thread this niceness (None: leave it). Raising it needs no privilege; a failure is logged."""
    if niceness is None:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except OSError as exc:
        log.warning("could not lower this thread's CPU priority to niceness %d: %s", niceness, exc)
