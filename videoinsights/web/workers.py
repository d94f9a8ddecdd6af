"""`videoinsights serve --workers N`: N server processes on one port, for a ClickHouse store.

The parent binds the port, starts N processes that accept on that one socket (the kernel hands each connection
to one of them), and supervises them: a process that dies is started again; SIGTERM/SIGINT stop them all
(each finishes its requests and writes, as one `serve` does). Nothing one process keeps is needed by another:

- data, logins, keys and alert state are in the store; the cookie-signing secret too (written by the parent
  before the workers start, so they never race to create two);
- per process, by design: the rate limits and the login throttle (each enforces its own, so a client may get
  up to N times the limit), the project/login caches (a few seconds, as between separate servers), and
  /metrics (each scrape answers for the process that took it);
- derivation and the retention purge run in one `derive` process the parent starts (unless `--no-derive`:
  then run `videoinsights derive --shard K/N` processes yourself); alert rules are evaluated by worker 0 only,
  so a webhook is not sent N times.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import replace
from multiprocessing.process import BaseProcess
from typing import Any

from videoinsights.parent_watch import exit_with_parent
from videoinsights.settings import Settings, SettingsError
from videoinsights.store.open import parse_store_url
from videoinsights.store_cli import prepare_store

log = logging.getLogger(__name__)
RESTART_DELAY_S = 1.0


def check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise SettingsError(f"--workers takes a number of processes (1 or more), got {workers}")
    scheme = parse_store_url(settings.store_url).scheme
    if workers > 1 and scheme != "clickhouse":
        raise SettingsError(f"--workers {workers} needs a ClickHouse server store (--store clickhouse://...): "
                            + ("a DuckDB file is owned by one process" if scheme == "duckdb"
                               else "a chdb:// directory is opened by one process"))


def _bind(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _server_process(settings: Settings, sock: socket.socket, parent: int) -> None:
    from videoinsights.web.server import serve_socket

    exit_with_parent(parent)
    serve_socket(settings, sock)


def _derive_process(settings: Settings, parent: int) -> None:
    from videoinsights.derive.process import run_derive
    from videoinsights.web.server import setup_logging

    exit_with_parent(parent)
    setup_logging(settings)
    run_derive(settings, None)


def serve_workers(settings: Settings, workers: int) -> None:
    check_workers(settings, workers)
    prepare_store(settings)  # the tables and the cookie secret, before any worker needs them
    sock = _bind(settings)
    context = multiprocessing.get_context("spawn")

    def worker_settings(i: int) -> Settings:  # the derive process derives; worker 0 evaluates alert rules
        return replace(settings, derive_in_server=False, alerts_in_server=i == 0 and settings.alerts_in_server)

    targets: dict[str, tuple[Any, tuple[Any, ...]]] = {
        f"worker {i}": (_server_process, (worker_settings(i), sock, os.getpid())) for i in range(workers)}
    if settings.derive_in_server:
        targets["derive"] = (_derive_process, (settings, os.getpid()))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def start(name: str) -> BaseProcess:
        target, args = targets[name]
        process = context.Process(target=target, args=args, name=f"videoinsights {name}")
        process.start()
        return process

    processes = {name: start(name) for name in targets}
    log.info("serving on %s:%d with %d worker processes%s", settings.host, settings.port, workers,
             " and one derive process" if "derive" in targets else " (derivation: `videoinsights derive` processes)")
    try:
        while not stop.wait(0.5):
            for name, process in processes.items():
                if not process.is_alive():
                    log.error("%s exited (code %s): starting it again", name, process.exitcode)
                    time.sleep(RESTART_DELAY_S)
                    processes[name] = start(name)
    finally:
        for process in processes.values():
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's and derive's graceful stop
        for name, process in processes.items():
            process.join(60)
            if process.is_alive():
                log.error("%s did not stop in 60 s: killing it", name)
                process.kill()
                process.join()
        sock.close()
