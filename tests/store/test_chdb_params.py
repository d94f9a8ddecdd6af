"""Query parameters reach ClickHouse's engine (chdb) exactly as given: a top-level string parameter is read
in the Escaped text format, where a bare backslash starts an escape and a tab or newline ends the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stores import drop, new_store_url, open_store

AWKWARD = ["a\nb", "a\\b", "a\tb", "\\N", "it's", "x\\ny", "cr\rlf", "nul\0byte", "plain"]


@pytest.fixture
def client(tmp_path: Path):
    url = new_store_url("chdb", tmp_path)
    store = open_store(url)
    yield store.client
    store.close()
    drop(url)


@pytest.mark.parametrize("value", AWKWARD)
def test_a_string_parameter_arrives_unchanged(client, value: str) -> None:
    assert client.query_rows("SELECT {q:String}, length({q:String})", {"q": value}) == [(value, len(value))]


def test_strings_inside_an_array_parameter_arrive_unchanged(client) -> None:
    rows = client.query_rows("SELECT arrayJoin({a:Array(String)}) AS v", {"a": AWKWARD})
    assert [r[0] for r in rows] == AWKWARD
