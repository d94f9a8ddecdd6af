"""Store URLs: what each form opens, and a clear error for each bad one (before anything is opened)."""

from __future__ import annotations

import pytest

from videoinsights.settings import Settings
from videoinsights.store.open import StoreURL, StoreURLError, parse_store_url, store_url_of


@pytest.mark.parametrize(("url", "expected"), [
    ("duckdb:///var/lib/vi.duckdb", StoreURL("duckdb", path="/var/lib/vi.duckdb")),
    ("./relative.duckdb", StoreURL("duckdb", path="./relative.duckdb")),  # a bare path: the `db` setting
    ("chdb:///tmp/ch", StoreURL("chdb", path="/tmp/ch", database="videoinsights")),
    ("chdb:///tmp/ch?database=t_1", StoreURL("chdb", path="/tmp/ch", database="t_1")),
    ("clickhouse://vi:s%40cret@ch.internal:8123/insights",
     StoreURL("clickhouse", database="insights", host="ch.internal", port=8123, username="vi", password="s@cret")),
    ("clickhouse://ch", StoreURL("clickhouse", host="ch", port=8123, username="default", password="")),
    ("clickhouses://u:p@ch/db", StoreURL("clickhouse", database="db", host="ch", port=8443, username="u",
                                         password="p", secure=True)),
])
def test_parse(url: str, expected: StoreURL) -> None:
    assert parse_store_url(url) == expected


@pytest.mark.parametrize(("url", "message"), [
    ("", "empty"),
    ("postgres://h/db", "unknown store 'postgres'"),
    ("chdb://relative/dir", "absolute path"),
    ("duckdb://", "absolute path"),
    ("chdb:///tmp/x?database=bad-name", "bad database name 'bad-name'"),
    ("chdb:///tmp/x?database=name%0A", "bad database name"),
    ("chdb:///tmp/x?mode=ro", "unknown option(s) mode"),
    ("clickhouse:///db", "needs a host"),
    ("clickhouse://h:99999/db", "bad port"),
    ("clickhouse://h/db;drop", "bad database name"),
])
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(StoreURLError, match=None) as err:
        parse_store_url(url)
    assert message in str(err.value)


def test_store_setting_wins_over_db() -> None:
    assert store_url_of(Settings(db="/data/a.duckdb")) == "duckdb:///data/a.duckdb"
    assert store_url_of(Settings(db="/data/a.duckdb", store="chdb:///data/ch")) == "chdb:///data/ch"


def test_redacted_hides_the_password() -> None:
    assert parse_store_url("clickhouse://vi:topsecret@h:8123/db").redacted() == "clickhouse://vi@h:8123/db"
