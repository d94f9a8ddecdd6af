"""A test-only ClickHouse HTTP front: executes what clickhouse-connect sends in a chdb Session.

No ClickHouse server can be installed here (tech-eval A6), so the `clickhouse://` backend is tested
against this: enough of ClickHouse's HTTP interface for clickhouse-connect (the query in the URL
and/or the body, `database`, `param_<name>` parameters, settings as URL parameters, INSERT ... FORMAT
with the data in the body, the answer in the requested format, errors as HTTP 500 with ClickHouse's
message and X-ClickHouse-Exception-Code). Requests are served one at a time: chdb is not thread-safe.
Of the other settings a request carries, the cluster layout's (store/clickhouse/cluster.py) are applied with
SET; the rest are ignored. A config file (CONFIG) can declare a cluster (`remote_servers`) and macros.

    python -m tests.support.ch_http DIR PORT [CONFIG]
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.ipc as ipc

_FORMAT = re.compile(r"\s+FORMAT\s+(\w+)\s*;?\s*$", re.I | re.S)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)\s*$", re.I | re.S)
_CODE = re.compile(r"Code: (\d+)")
# URL parameters that are not settings
_TRANSPORT = {"query", "database", "default_format", "query_id", "session_id", "session_timeout", "compress",
              "decompress", "user", "password", "quota_key", "wait_end_of_query", "client_protocol_version",
              "session_check", "role"}
_INSERT_SETTINGS = {"insert_deduplication_token", "insert_deduplicate", "async_insert", "wait_for_async_insert",
                    "distributed_foreground_insert"}
_SESSION_SETTINGS = {"distributed_foreground_insert", "distributed_product_mode"}


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    message = BytesParser(policy=default).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True).decode()
            for part in message.iter_parts()}


class Front(BaseHTTPRequestHandler):
    session: Any = None
    current_db = "default"
    applied: ClassVar[dict[str, str]] = {}  # settings SET on the session

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/ping":
            return self._reply(200, b"Ok.\n", {})
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):  # large parameters come as form fields
            params.update(_form_fields(ctype, body))
            body = b""
        sql = params.get("query", "")
        binds = {k[len("param_"):]: v for k, v in params.items() if k.startswith("param_")}
        settings = {k: v for k, v in params.items() if k not in _TRANSPORT and not k.startswith("param_")}
        try:
            self._use(params.get("database") or "default")
            self._set({k: v for k, v in settings.items() if k in _SESSION_SETTINGS})
            insert = _INSERT.match(sql) if sql and body else None
            if insert:
                return self._insert(insert.group(1), insert.group(2), body, settings)
            if body:
                sql = f"{sql} {body.decode()}" if sql else body.decode()
            fmt = params.get("default_format", "TabSeparated")
            m = _FORMAT.search(sql)
            if m:
                fmt, sql = m.group(1), sql[: m.start()]
            result = self.session.query(sql, fmt, params=binds or None)
            data = result.bytes() if hasattr(result, "bytes") else (result or b"")
            if isinstance(data, str):
                data = data.encode()
            self._reply(200, data, {"X-ClickHouse-Format": fmt})
        except Exception as exc:  # ClickHouse's own message goes back to the client
            text = str(exc)
            code = _CODE.search(text)
            self._reply(500, text.encode(), {"X-ClickHouse-Exception-Code": code.group(1) if code else "1"})

    def _use(self, database: str) -> None:
        if Front.current_db != database:
            self.session.query(f"USE {database}")
            Front.current_db = database

    def _set(self, settings: dict[str, str]) -> None:
        for name, value in settings.items():
            if Front.applied.get(name) != value:
                self.session.query(f"SET {name} = '{value}'")
                Front.applied[name] = value

    def _insert(self, target: str, fmt: str, body: bytes, settings: dict[str, str]) -> None:
        if fmt == "Arrow":
            table = ipc.open_file(pa.BufferReader(body)).read_all()
        elif fmt == "ArrowStream":
            table = ipc.open_stream(pa.BufferReader(body)).read_all()
        else:
            raise ValueError(f"the test front takes Arrow inserts only, not {fmt}")
        chosen = {k: v for k, v in settings.items() if k in _INSERT_SETTINGS}
        clause = ("SETTINGS " + ", ".join(f"{k} = '{v}'" for k, v in chosen.items()) + " ") if chosen else ""
        front_rows = table  # noqa: F841 - read by name by chdb's Python() table function
        names = ", ".join(f"`{n}`" for n in table.column_names)
        columns = re.sub(r"^[^(]*", "", target).strip()
        table_name = target[: len(target) - len(columns)].strip() if columns else target.strip()
        self.session.query(f"INSERT INTO {table_name} {columns} {clause}SELECT {names} FROM Python(front_rows)")
        summary = json.dumps({"written_rows": str(table.num_rows), "read_rows": str(table.num_rows)})
        self._reply(200, b"", {"X-ClickHouse-Summary": summary})

    def _read_chunked(self) -> bytes:
        out = io.BytesIO()
        while True:
            size = int(self.rfile.readline().strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return out.getvalue()
            out.write(self.rfile.read(size))
            self.rfile.readline()

    def _reply(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("X-ClickHouse-Query-Id", str(uuid.uuid4()))
        self.send_header("X-ClickHouse-Timezone", "UTC")
        self.send_header("X-ClickHouse-Server-Display-Name", "chdb-test-front")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def running_front(directory: Path, log: Path, config: Path | None = None) -> Iterator[tuple[str, int]]:
    """Start the front in a process of its own over `directory` (with a ClickHouse config file); yields
    (host, port)."""
    import httpx

    from tests.conftest import free_port

    for _ in range(5):  # another port if this one was taken between free_port() and the front's bind
        port = free_port()
        with open(log, "wb") as out:
            extra = [str(config)] if config else []
            proc = subprocess.Popen([sys.executable, "-m", "tests.support.ch_http", str(directory), str(port),
                                     *extra], stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while proc.poll() is None:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "the ClickHouse test front did not start"
                    time.sleep(0.2)
            if proc.poll() is not None:
                assert "Address already in use" in log.read_text(), log.read_text()
                continue
            yield "127.0.0.1", port
            return
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
    raise AssertionError(f"no free port for the ClickHouse test front: {log.read_text()}")


def main(directory: str, port: int, config: str | None = None) -> None:
    from chdb import session

    Front.session = session.Session(f"{directory}?config-file={config}" if config else directory)
    server = HTTPServer(("127.0.0.1", port), Front)
    print(f"listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4])
