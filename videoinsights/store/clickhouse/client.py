"""The one narrow interface every ClickHouse statement goes through, and its two implementations.

`ChdbClient` runs ClickHouse's engine in this process (the `chdb` package: tests and single-node
trials); `HttpClient` talks to a server or cluster over HTTP (`clickhouse-connect`). Both take
ClickHouse's own `{name:Type}` query parameters, so the SQL in store/clickhouse/ is the same on both.
Neither package is imported until a store of its kind is opened (chdb alone is 550 MB).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, ClassVar, Protocol

import pyarrow as pa


class ClickHouseError(RuntimeError):
    """A statement failed in ClickHouse (the message is ClickHouse's own)."""


class Client(Protocol):
    database: str

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None: ...
    def query_rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...
    def query_arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table: ...
    def insert_arrow(self, table: str, data: pa.Table, settings: dict[str, Any] | None = None) -> None: ...
    def apply_settings(self, settings: dict[str, str]) -> None: ...
    def close(self) -> None: ...


def quote(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# A top-level parameter is read in the Escaped text format: a bare backslash starts an escape ("a\\b" would
# arrive as "a" + backspace, "\\N" as NULL) and a raw tab or newline ends the value.
_ESCAPED = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"})


def param_text(value: Any, nested: bool = False) -> str:
    """A parameter value in ClickHouse's text format, as the HTTP interface's `param_<name>` takes it
    (strings are quoted only inside arrays and tuples, escaped at the top level)."""
    if value is None:
        return "NULL" if nested else "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return quote(value) if nested else value.translate(_ESCAPED)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return quote(text) if nested else text
    if isinstance(value, dt.date):
        return quote(value.isoformat()) if nested else value.isoformat()
    if isinstance(value, (list, set, frozenset)):
        return "[" + ",".join(param_text(v, True) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ",".join(param_text(v, True) for v in value) + ")"
    return str(value)


class ChdbClient:
    """ClickHouse's engine in-process. chdb allows one database directory per process and one
    Session shared by every thread gave wrong results and deadlocks (tech-eval A5): every call
    here runs under one lock, on the one Session of the process."""

    _sessions: ClassVar[dict[str, Any]] = {}
    _current: ClassVar[dict[str, str]] = {}  # the database each Session last USEd
    _lock = threading.RLock()

    def __init__(self, path: str, database: str) -> None:
        from chdb import session as chdb_session  # 550 MB: imported only for chdb:// stores

        self.database = database
        with ChdbClient._lock:
            if path not in ChdbClient._sessions:
                if ChdbClient._sessions:
                    other = next(iter(ChdbClient._sessions))
                    raise ClickHouseError(f"chdb opens one directory per process: {other} is open, not {path}")
                ChdbClient._sessions[path] = chdb_session.Session(path)
            self._session = ChdbClient._sessions[path]
            self._path = path
            self._session.query(f"CREATE DATABASE IF NOT EXISTS {database}")

    def _use(self) -> None:
        """Make our database the Session's current one (another store of the process may have changed it)."""
        if ChdbClient._current.get(self._path) != self.database:
            self._session.query(f"USE {self.database}")
            ChdbClient._current[self._path] = self.database

    def _run(self, sql: str, fmt: str = "CSV", params: dict[str, Any] | None = None) -> Any:
        text = {k: param_text(v) for k, v in params.items()} if params else None
        with ChdbClient._lock:
            try:
                self._use()
                return self._session.query(sql, fmt, params=text)
            except Exception as exc:
                raise ClickHouseError(str(exc)) from exc

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._run(sql, params=params)

    def query_rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        table = self.query_arrow(sql, params)
        columns = [c.to_pylist() for c in table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def query_arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        return self._run(sql, "ArrowTable", params)

    def insert_arrow(self, table: str, data: pa.Table, settings: dict[str, Any] | None = None) -> None:
        """Insert through the `Python(name)` table function: chdb reads the Arrow table of that local."""
        names = ", ".join(data.column_names)
        # chdb starts with async_insert on (tech-eval A4); our inserts are batched already, and waiting for
        # the async buffer's flush cost ~90 ms per insert.
        settings = {"async_insert": 0, **(settings or {})}
        clause = "SETTINGS " + ", ".join(f"{k} = {param_text(v, True)}" for k, v in settings.items()) + " "
        arrow_rows = data  # noqa: F841 - read by name by chdb's Python() table function below
        with ChdbClient._lock:
            try:
                self._use()
                self._session.query(f"INSERT INTO {table} ({names}) {clause}SELECT {names} FROM Python(arrow_rows)")
            except Exception as exc:
                raise ClickHouseError(str(exc)) from exc

    def apply_settings(self, settings: dict[str, str]) -> None:
        """Settings for every later statement (SET on the process's one Session: all its stores get them)."""
        for name, value in settings.items():
            self._run(f"SET {name} = {quote(value)}")

    def close(self) -> None:
        """The Session stays open for the process's life: chdb cannot reopen another directory anyway."""

    @classmethod
    def drop_database(cls, path: str, database: str) -> None:
        """Drop a database of the process's chdb directory (tests: one fresh database per test)."""
        with cls._lock:
            if path in cls._sessions:
                cls._sessions[path].query(f"DROP DATABASE IF EXISTS {database} SYNC")
                if cls._current.get(path) == database:
                    cls._sessions[path].query("USE default")
                    cls._current[path] = "default"


class HttpClient:
    """A ClickHouse server over HTTP. clickhouse-connect clients are not thread-safe, so each thread
    gets its own (a session id is not used: statements never rely on session state)."""

    def __init__(self, host: str, port: int, username: str, password: str, database: str, secure: bool = False) -> None:
        import clickhouse_connect  # the optional extra `clickhouse`

        self._connect = clickhouse_connect.get_client
        self._args = {"host": host, "port": port, "username": username, "password": password, "secure": secure,
                      "autogenerate_session_id": False}
        self.database = database
        self._local = threading.local()
        self._clients: list[Any] = []
        self._lock = threading.Lock()
        admin = self._connect(**self._args, database="default")
        try:
            admin.command(f"CREATE DATABASE IF NOT EXISTS {database}")
        finally:
            admin.close()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._connect(**self._args, database=self.database)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._client(), method)(*args, **kwargs)
        except Exception as exc:
            raise ClickHouseError(str(exc)) from exc

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._call("command", sql, parameters=params)

    def query_rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._call("query", sql, parameters=params).result_rows]

    def query_arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        return self._call("query_arrow", sql, parameters=params, use_strings=True)

    def insert_arrow(self, table: str, data: pa.Table, settings: dict[str, Any] | None = None) -> None:
        self._call("insert_arrow", table, data, settings=settings)

    def apply_settings(self, settings: dict[str, str]) -> None:
        """Settings sent with every later request, by this thread's client and the ones created after."""
        with self._lock:
            self._args["settings"] = {**self._args.get("settings", {}), **settings}
            for client in self._clients:
                for name, value in settings.items():
                    client.set_client_setting(name, value)

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
