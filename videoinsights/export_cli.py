"""`videoinsights export`: the export endpoint's files from the command line.

With a server running on the database, the file is downloaded from its export endpoint (with a
short-lived project token), since the server owns the file; otherwise the database is opened
read-only and the same code writes the file. Either way the rows stream to the output file.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from videoinsights.query.export_kinds import FILTERS, KINDS

if TYPE_CHECKING:
    from videoinsights.progress import Bar
    from videoinsights.settings import Settings

# The exporter (GraphQL, pyarrow) and httpx are imported by the functions that use them: every CLI command
# builds the parser, which only needs the names above.


def add_export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", required=True, help="project id (API key)")
    p.add_argument("--kind", required=True, choices=KINDS, help="what to export")
    p.add_argument("--format", choices=("csv", "parquet"), default=None, help="default: from --out's suffix, else csv")
    p.add_argument("--start", required=True, help="a Date: ISO-8601, YYYY-MM-DD (LA midnight), epoch; 0 = earliest")
    p.add_argument("--end", help="a Date (default: now)")
    p.add_argument("--interval", help="projectData: DAILY, WEEKLY, MONTHLY or AUTO (default: one row per group)")
    p.add_argument("--group-by", help="projectData: comma-separated GroupBy values, e.g. COUNTRY,SDK_TYPE")
    for name in FILTERS:
        p.add_argument(f"--{name}", help=f"projectData: keep only these {name} values (comma-separated)")
    p.add_argument("--out", required=True, help="output file ('-' for stdout)")


def _params(args: argparse.Namespace) -> dict[str, list[str]]:
    fmt = args.format or ("parquet" if str(args.out).endswith(".parquet") else "csv")
    params = {"kind": args.kind, "format": fmt, "start": args.start, "end": args.end, "interval": args.interval,
              "groupBy": args.group_by, **{name: getattr(args, name) for name in FILTERS}}
    return {k: [v] for k, v in params.items() if v is not None}


def _local_chunks(settings: Settings, project_id: str, params: dict[str, list[str]], bar: Bar) -> Iterator[bytes]:
    from videoinsights.domain.days import la_day
    from videoinsights.query.export import ExportError, columns_of, export_rows, parse_request, report_args
    from videoinsights.query.export_format import encode
    from videoinsights.store.open import duckdb_path, open_store

    export = parse_request(project_id, params)
    now_ms = int(time.time() * 1000)
    if export.kind == "projectData":
        report_args(export, now_ms)
    path = duckdb_path(settings.store_url)
    if path is not None and not Path(path).exists():
        raise FileNotFoundError(f"no database at {path}")
    store = open_store(settings.store_url, read_only=True)
    try:
        project = store.get_project(project_id)
        if project is None:
            raise ExportError(f"project {project_id} not found")
        if export.kind != "projectData" and not project.advanced_insights:
            raise ExportError("session data exports require the Advanced Insights add-on")
        first_daily_day = la_day(now_ms) - timedelta(days=settings.daily_retention_days)
        cursor = store.export_cursor()
        try:
            def counted() -> Iterator[list[dict[str, Any]]]:
                for batch in export_rows(export, cursor, now_ms, first_daily_day, sql=store.sql):
                    bar.advance(len(batch))
                    yield batch

            yield from encode(export.format, columns_of(export.kind), counted())
        finally:
            cursor.close()
    finally:
        store.close()


def _remote_chunks(url: str, token: str, project_id: str, params: dict[str, list[str]]) -> Iterator[bytes]:
    import httpx

    from videoinsights.query.export import ExportError

    with httpx.stream("GET", f"{url}/v1/projects/{project_id}/export", params=params,
                      headers={"X-OPENTOK-AUTH": token}, timeout=None) as response:
        if response.status_code != 200:
            response.read()
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise ExportError(f"the server answered {response.status_code}: {message}")
        yield from response.iter_bytes()


def run_export(args: argparse.Namespace, settings: Settings, secret_of: Any) -> int:
    """Write the export to args.out; `secret_of(project_id)` gives the API secret (for a running server)."""
    from videoinsights.auth.tokens import issue_project_token
    from videoinsights.control import running_server
    from videoinsights.ops import OpError
    from videoinsights.progress import Bar
    from videoinsights.query.export import ExportError
    from videoinsights.store.open import duckdb_path

    project_id = str(args.project)
    params = _params(args)

    path = duckdb_path(settings.store_url)
    server = running_server(path) if path is not None else None
    unit = "rows" if server is None else "bytes"
    out: BinaryIO = sys.stdout.buffer if args.out == "-" else open(args.out + ".part", "wb")  # noqa: SIM115
    written = 0
    try:
        with Bar(f"export {args.kind}", unit=unit, enabled=None if args.out != "-" else False) as bar:
            if server is None:
                chunks = _local_chunks(settings, project_id, params, bar)
            else:
                token = issue_project_token(project_id, secret_of(project_id), 300)
                chunks = _remote_chunks(server["url"], token, project_id, params)
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
                if server is not None:
                    bar.advance(len(chunk))
    except (ExportError, OpError) as exc:
        if args.out != "-":
            out.close()
            Path(args.out + ".part").unlink(missing_ok=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out != "-":
        out.close()
        Path(args.out + ".part").replace(args.out)  # a half-written file never has the final name
        print(f"wrote {written:,} bytes to {args.out}", file=sys.stderr)
    return 0
