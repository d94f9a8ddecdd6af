"""The `videoinsights` command line.

Commands that change the database run on the file directly, or, when a
server owns it, through the server (see control.py), so they work while the
service is running.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from videoinsights import __version__
from videoinsights.accounts.cli import add_account_commands
from videoinsights.alerts.cli import add_alert_commands
from videoinsights.auth.cli import add_key_commands
from videoinsights.control import RemoteError, call_server, running_server
from videoinsights.ops import OPS, OpError
from videoinsights.settings import Settings, SettingsError, load_settings
from videoinsights.store.open import StoreURLError, parse_store_url
from videoinsights.store_cli import add_store_commands


def run_op(target: str, op: str, **args: Any) -> Any:
    """Run an admin operation on a store (a DuckDB path or a store URL): through the server if one owns the
    DuckDB file, else on the store directly (a ClickHouse store is shared: any process may write to it)."""
    with op_runner(target) as run:
        return run(op, **args)


@contextlib.contextmanager
def op_runner(target: str, *, must_exist: bool = False,
              duckdb_options: dict[str, Any] | None = None) -> Iterator[Callable[..., Any]]:
    """`run(op, **args)` for several operations in a row, as run_op runs one: through the server that owns the
    DuckDB file, else on the store, opened once for all of them (with these DuckDB options, by default the
    environment's as a server would open it: e.g. quality_scoring). With `must_exist`, a DuckDB file that isn't
    there is an error instead of a new, empty store."""
    from videoinsights.store.open import duckdb_options as options_of
    from videoinsights.store.open import duckdb_path, open_store

    path = duckdb_path(target)
    info = running_server(path) if path is not None else None
    if info is not None:
        yield lambda op, **args: call_server(info, op, args)
        return
    if must_exist and path is not None and not Path(path).exists():
        raise FileNotFoundError(f"no database at {path}")
    if duckdb_options is None:
        duckdb_options = options_of(load_settings())
    store = open_store(target, duckdb_options=duckdb_options)
    try:
        yield lambda op, **args: OPS[op](store, **args)
    finally:
        store.close()


def resolve_store(settings: Settings) -> Settings:
    """Check the store URL now (a clear error before anything starts); a duckdb:// URL becomes `db`, so the
    DuckDB-only paths (the server's sidecar file, read-only exports) find the file."""
    parsed = parse_store_url(settings.store_url)
    if parsed.scheme != "duckdb":
        return settings
    if not settings.derive_in_server:
        raise SettingsError("--no-derive needs a ClickHouse store: a DuckDB file has one owning process, "
                            "which derives")
    return replace(settings, db=parsed.path, store="")


def _print(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data, indent=None if as_json else 2) if as_json else text)


def cmd_projects_create(args: argparse.Namespace, settings: Settings) -> int:
    p = run_op(settings.store_url, "create_project", name=args.name, advanced_insights=args.advanced_insights,
               project_id=args.project_id)
    _print(p, args.json, f"project {p['projectId']} ({p['name']})\n  api secret:     {p['apiSecret']}\n"
                         f"  callback token: {p['callbackToken']}")
    return 0


def cmd_projects_list(args: argparse.Namespace, settings: Settings) -> int:
    projects = run_op(settings.store_url, "list_projects")
    lines = [f"{p['projectId']}\t{p['kind']}\t{'advanced' if p['advancedInsights'] else 'standard'}\t{p['name']}"
             for p in projects]
    _print(projects, args.json, "\n".join(lines) if lines else "no projects")
    return 0


def cmd_projects_rotate(args: argparse.Namespace, settings: Settings) -> int:
    result = run_op(settings.store_url, "rotate_secret", project_id=str(args.project_id))
    _print(result, args.json, f"new api secret of {result['projectId']}: {result['apiSecret']}")
    return 0


def cmd_applications_create(args: argparse.Namespace, settings: Settings) -> int:
    pem = Path(args.public_key).read_text()
    app = run_op(settings.store_url, "create_application", name=args.name, public_key_pem=pem,
                 advanced_insights=args.advanced_insights)
    _print(app, args.json, f"application {app['applicationId']} ({app['name']})\n"
                           f"  callback token: {app['callbackToken']}")
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from videoinsights.auth.tokens import INGEST_SCOPE, issue_ingest_token, issue_project_token

    if args.scope == INGEST_SCOPE and not args.session:
        raise OpError("an ingest token is for one session: give --session")
    if args.session and args.scope != INGEST_SCOPE:
        raise OpError("--session goes with --scope ingest")
    secret = run_op(settings.store_url, "get_secret", project_id=str(args.project))["apiSecret"]
    if args.scope == INGEST_SCOPE:
        try:
            print(issue_ingest_token(str(args.project), secret, args.session, args.ttl))
        except ValueError as exc:
            raise OpError(str(exc)) from None
    else:
        print(issue_project_token(str(args.project), secret, args.ttl))
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from videoinsights.progress import Bar

    if args.mark_only:
        if settings.store_url.startswith("duckdb://"):
            raise OpError("--mark-only is for a ClickHouse store with `videoinsights derive` processes running")
        result = run_op(settings.store_url, "rebuild", mark_only=True)
        print(f"marked {result['sessions']} sessions for the derive processes to re-derive")
        return 0
    local = settings.store_url.startswith("duckdb://")
    if local and (running_server(settings.db) is not None or not Path(settings.db).exists()):
        result = run_op(settings.store_url, "rebuild")  # on the server's writer thread: no progress to draw here
    else:
        with Bar("rebuilding", unit="sessions") as bar:
            result = run_op(settings.store_url, "rebuild", progress=lambda done, goal: bar.advance(done, total=goal))
    print(f"rebuilt {result['sessions']} sessions in {result['seconds']} s")
    return 0


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    result = run_op(settings.store_url, "purge", raw_retention_days=settings.raw_retention_days,
                    daily_retention_days=settings.daily_retention_days,
                    monthly_retention_months=settings.monthly_retention_months,
                    alert_delivery_retention_days=settings.alert_delivery_retention_days)
    print(json.dumps(result))
    return 0


def cmd_compact(args: argparse.Namespace, settings: Settings) -> int:
    """Move the stats samples of every settled session into session order now, pass after pass: the server does it
    too, 50 sessions at a time when idle, so a store upgraded from before (or loaded in bulk) needs this only to be
    fast at once. Through a running server each pass runs on its writer thread and holds ingest for its duration."""
    from videoinsights.progress import Bar
    from videoinsights.store.open import duckdb_options

    settle = args.settle_s if args.settle_s is not None else (
        settings.stats_compaction_settle_s or Settings.stats_compaction_settle_s)
    samples = passes = 0
    started = time.monotonic()
    # the store opened once for every pass, with the server's DuckDB settings (VIDEOINSIGHTS_DUCKDB_MEMORY_LIMIT_MB)
    with op_runner(settings.store_url, must_exist=True, duckdb_options=duckdb_options(settings)) as run, \
            Bar("compacting", unit="samples") as bar:
        while True:
            result = run("compact", sessions=args.sessions, settle_s=settle)
            passes += 1
            samples += result["samples"]
            bar.advance(result["samples"])
            if not result["more"]:
                break
    summary = {"passes": passes, "samples": samples, "seconds": round(time.monotonic() - started, 3)}
    _print(summary, args.json, f"moved {samples:,} stats samples into session order in {passes:,} passes "
                               f"({summary['seconds']} s)")
    return 0


def cmd_derive(args: argparse.Namespace, settings: Settings) -> int:
    from videoinsights.derive.process import parse_shard, run_derive

    return run_derive(settings, parse_shard(args.shard), once=args.once)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from videoinsights.web.server import serve
    from videoinsights.web.workers import check_workers

    check_workers(settings, args.workers)
    serve(settings, workers=args.workers)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from videoinsights.demo import run_demo

    rate = 0.0 if args.no_live_traffic else args.live_sessions_per_hour
    return run_demo(settings, days=args.days, sessions_per_day=args.sessions_per_day, seed=args.seed,
                    live_sessions_per_hour=rate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videoinsights", description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="DuckDB file (default: $VIDEOINSIGHTS_DB or ./videoinsights.duckdb)")
    parser.add_argument("--store", help="store URL: duckdb:///file, chdb:///dir, clickhouse://user:pass@host:8123/db "
                                        "(default: $VIDEOINSIGHTS_STORE, else the DuckDB file of --db)")
    parser.add_argument("--version", action="version", version=f"videoinsights {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func: Any, help: str, parent: Any = sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help, description=help)
        p.add_argument("--db", default=argparse.SUPPRESS, help="DuckDB file")
        p.add_argument("--store", default=argparse.SUPPRESS, help="store URL (see videoinsights --help)")
        p.set_defaults(func=func)
        return p

    for name, help in (("serve", "Start the server."), ("demo", "Fill a demo project with traffic and serve it.")):
        p = command(name, cmd_serve if name == "serve" else cmd_demo, help)
        p.add_argument("--host", help="listen address (default 127.0.0.1)")
        p.add_argument("--port", type=int, help="listen port (default 8080)")
        p.add_argument("--log-format", choices=("text", "json"), help="server log format (default text)")
        if name == "serve":
            p.add_argument("--no-derive", dest="derive_in_server", action="store_false", default=None,
                           help="ingest and answer only; `videoinsights derive` processes derive (ClickHouse stores)")
            p.add_argument("--no-alerts", dest="alerts_in_server", action="store_false", default=None,
                           help="never evaluate alert rules here (run them in exactly one of several servers)")
            p.add_argument("--workers", type=int, default=1,
                           help="server processes on the port (a ClickHouse server store only; default 1)")
        if name == "demo":
            p.add_argument("--days", type=int, default=30, help="days of traffic to generate")
            p.add_argument("--sessions-per-day", type=int, default=40, help="sessions per day")
            p.add_argument("--seed", type=int, default=7, help="random seed")
            p.add_argument("--live-sessions-per-hour", type=float, default=30.0,
                           help="simulated sessions per hour posted in real time while serving (default 30)")
            p.add_argument("--no-live-traffic", action="store_true", help="serve without posting live traffic")

    projects = sub.add_parser("projects", help="Manage projects (API key + secret).").add_subparsers(
        dest="action", required=True)
    p = command("create", cmd_projects_create, "Create a project.", projects)
    p.add_argument("--name", required=True)
    p.add_argument("--advanced-insights", action="store_true", help="enable session data (Advanced Insights)")
    p.add_argument("--project-id", help="choose the numeric id instead of a random 8-digit one")
    p.add_argument("--json", action="store_true")
    p = command("list", cmd_projects_list, "List projects.", projects)
    p.add_argument("--json", action="store_true")
    p = command("rotate-secret", cmd_projects_rotate, "Replace a project's API secret.", projects)
    p.add_argument("project_id")
    p.add_argument("--json", action="store_true")

    apps = sub.add_parser("applications", help="Manage Vonage-style applications (RSA keys).").add_subparsers(
        dest="action", required=True)
    p = command("create", cmd_applications_create, "Register an application by its public key.", apps)
    p.add_argument("--name", required=True)
    p.add_argument("--public-key", required=True, help="PEM file with the RSA public key")
    p.add_argument("--advanced-insights", action="store_true")
    p.add_argument("--json", action="store_true")

    p = command("token", cmd_token, "Print an X-OPENTOK-AUTH token (HS256 JWT) for a project.")
    p.add_argument("--project", required=True)
    p.add_argument("--ttl", type=int, default=300, help="seconds until it expires (ingest tokens: at most 3600)")
    p.add_argument("--scope", choices=["project", "ingest"], default="project",
                   help="ingest: a token that only sends events of one session (for a browser)")
    p.add_argument("--session", help="the session an ingest token may send events for")

    p = command("rebuild", cmd_rebuild, "Re-derive every derived table from the raw events.")
    p.add_argument("--mark-only", action="store_true",
                   help="ClickHouse store with derive processes running: mark every session dirty, let them derive")
    p = command("derive", cmd_derive, "Derive dirty sessions in this process (ClickHouse stores; beside "
                                      "`serve --no-derive`).")
    p.add_argument("--shard", help="K/N: derive only the sessions of shard K (0..N-1) of N derive processes")
    p.add_argument("--once", action="store_true", help="derive until no session is dirty, then exit")
    _add_export(sub, command)
    command("purge", cmd_purge, "Delete data older than the retention windows now.")
    p = command("compact", cmd_compact, "Move the stats samples of every settled session into session order now "
                                        "(DuckDB; the server does it gradually when idle).")
    p.add_argument("--sessions", type=int, default=1000, help="sessions per pass (each pass is one transaction)")
    p.add_argument("--settle-s", type=int, default=None,
                   help="only sessions with no event for this many seconds (default: stats_compaction_settle_s, "
                        "or 600 when that is 0)")
    p.add_argument("--json", action="store_true")
    _add_simulate(sub, command)
    add_account_commands(sub, command, run_op)
    add_key_commands(sub, command, run_op)
    add_alert_commands(sub, command, run_op)
    add_store_commands(sub, command)
    return parser


def _add_simulate(sub: Any, command: Any) -> None:
    from videoinsights.simulate.cli import add_simulate_arguments, run_simulate

    p = command("simulate", lambda a, s: run_simulate(a, token_provider=_token_provider(a, s)),
                "Generate realistic traffic to a file or a server.")
    add_simulate_arguments(p)


def _add_export(sub: Any, command: Any) -> None:
    from videoinsights.export_cli import add_export_arguments, run_export

    def run(args: argparse.Namespace, settings: Settings) -> int:
        def secret_of(project: str) -> str:
            return str(run_op(settings.store_url, "get_secret", project_id=project)["apiSecret"])

        return run_export(args, settings, secret_of)

    p = command("export", run, "Export project data or session data over a date range as CSV or Parquet.")
    add_export_arguments(p)


def _token_provider(args: argparse.Namespace, settings: Settings) -> Any:
    from videoinsights.auth.tokens import issue_project_token

    if not getattr(args, "url", None):
        return None
    secret = run_op(settings.store_url, "get_secret", project_id=str(args.project))["apiSecret"]
    return lambda: issue_project_token(str(args.project), secret, 300)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the output
    try:
        settings = resolve_store(load_settings(
            db=getattr(args, "db", None), store=getattr(args, "store", None), host=getattr(args, "host", None),
            port=getattr(args, "port", None), log_format=getattr(args, "log_format", None),
            derive_in_server=getattr(args, "derive_in_server", None),
            alerts_in_server=getattr(args, "alerts_in_server", None)))
        return int(args.func(args, settings) or 0)
    except (OpError, RemoteError, SettingsError, FileNotFoundError, StoreURLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
