"""Setting quality_scoring off: no sample is scored and no session gets scores or issues, the rest is derived as
always; on again, a DuckDB store scores the samples it left unscored and re-derives the sessions derived meanwhile,
and ends with the rows of a store that never turned it off. Scores by hand: tests/query/test_quality_api.py."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.query.test_quality_api import BAD, GOOD, call
from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.store.test_quality_sql import T0, issues, scores
from tests.support.stores import rows
from videoinsights.derive.engine import derive_all, derive_until_clean
from videoinsights.ingest.batch import validate_events
from videoinsights.ingest.load import load_events
from videoinsights.settings import Settings
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.open import duckdb_options, open_store
from videoinsights.store.writer import Writer

PROJECT = "12345678"


def counts(store: DuckDBStore) -> tuple[int, ...]:
    """Sessions, connections, sample rows scored, score rows, issue rows."""
    return tuple(rows(store, f"SELECT count(*) FROM {table}")[0][0]
                 for table in ("sessions", "connections", "quality_samples", "quality_scores", "quality_issues"))


def test_off_then_on_ends_as_a_store_that_always_scored(tmp_path) -> None:
    # "a" (samples 3 and 4 bad) arrives half while scoring is off, half after; "b" (all good) only while it is off
    a, b = call("a", T0, 2, range(3, 5)), call("b", T0, 2, range(0))
    first, rest = [*a[:6], *b], a[6:]  # a: creations and samples 1, 2
    always = DuckDBStore(str(tmp_path / "always.duckdb"))
    load_events(always, PROJECT, [*first, *rest])
    derive_until_clean(always)

    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path, score_samples=False)
    load_events(store, PROJECT, first)
    assert derive_until_clean(store, scoring=False) == 2
    assert counts(store) == (2, 4, 0, 0, 0)  # derived, nothing scored
    store.close()

    store = DuckDBStore(path)  # on again
    load_events(store, PROJECT, rest)
    derive_until_clean(store)
    assert scores(store, "a")[("session", "a")][2:5] == (4, 120_000, pytest.approx((GOOD + BAD) / 2))
    assert scores(store, "b")[("session", "b")][2:5] == (4, 120_000, pytest.approx(GOOD))  # derived again
    assert [i[0] for i in issues(store, "a")] == ["high_packet_loss", "high_rtt"]
    assert_same_rows(snapshot(always), snapshot(store))
    assert rows(store, "SELECT count(*) FROM quality_samples")[0][0] == 8  # each of the 8 samples once
    always.close()
    store.close()


def test_a_rebuild_while_off_is_scored_when_on_again_without_new_events(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, PROJECT, call("a", T0, 2, range(3, 5)))
    derive_until_clean(store)
    scored = snapshot(store)
    store.close()

    store = DuckDBStore(path, score_samples=False)
    derive_all(store, scoring=False)
    assert counts(store)[2:] == (0, 0, 0)
    store.close()

    store = DuckDBStore(path)
    assert derive_until_clean(store) == 1  # no new commit: the catch-up alone marks it dirty
    assert_same_rows(scored, snapshot(store))
    store.close()


@pytest.mark.parametrize("commit_while_off", [False, True])
def test_sessions_waiting_when_scoring_went_off_are_scored_when_on_again(tmp_path, commit_while_off: bool) -> None:
    # "a" absorbed with scoring on but not derived (a server killed before its derive step), then derived by a server
    # with scoring off (with or without a commit of "b" meanwhile), then scoring on again: "a" is derived again with
    # its quality, as in a store that always scored. (Only the sessions of commits absorbed while off were.)
    a, b = call("a", T0, 2, range(3, 5)), call("b", T0, 2, range(0))
    always = DuckDBStore(str(tmp_path / "always.duckdb"))
    load_events(always, PROJECT, [*a, *b] if commit_while_off else a)
    derive_until_clean(always)

    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, PROJECT, a)
    store.absorb_new_events()  # scored, dirty, not derived
    store.close()
    store = DuckDBStore(path, score_samples=False)
    if commit_while_off:
        load_events(store, PROJECT, b)
    assert derive_until_clean(store, scoring=False) == 1 + commit_while_off
    assert counts(store)[3:] == (0, 0)
    store.close()

    store = DuckDBStore(path)  # on again, no new commit
    assert derive_until_clean(store) == 1 + commit_while_off
    assert [i[0] for i in issues(store, "a")] == ["high_packet_loss", "high_rtt"]
    assert_same_rows(snapshot(always), snapshot(store))
    always.close()
    store.close()


def test_the_servers_writer_and_store_follow_the_setting(tmp_path) -> None:
    settings = Settings(db=str(tmp_path / "vi.duckdb"), quality_scoring=False)
    store: Any = open_store(settings.store_url, duckdb_options=duckdb_options(settings))
    writer = Writer(store, settings)
    writer.start()
    writer.append(load_columns(call("a", T0, 2, range(3, 5)))).result(30)
    writer.stop()  # derives what is dirty
    assert counts(store) == (1, 2, 0, 0, 0)
    store.close()


def load_columns(events: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The events validated as the ingest endpoint does."""
    now = int(time.time() * 1000)
    validated = validate_events(events, PROJECT, now, 0, now + 300_000)
    assert not validated.rejected
    return validated.columns


def test_each_backend_derives_without_quality_and_a_rebuild_scores(store_url: str) -> None:
    # ClickHouse scores at derivation: off, no quality rows; a rebuild with it on gives them (docs/quality.md)
    scoring_off = {"score_samples": False} if store_url.startswith("duckdb") else None
    store: Any = open_store(store_url, duckdb_options=scoring_off)
    load_events(store, PROJECT, call("a", T0, 2, range(3, 5)))
    assert derive_until_clean(store, scoring=False) == 1
    assert [rows(store, f"SELECT count(*) FROM {t}")[0][0] for t in ("sessions", "quality_scores", "quality_issues")
            ] == [1, 0, 0]
    store.close()
    store = open_store(store_url)  # on again
    derive_all(store)
    session = rows(store, "SELECT samples, scored_ms, score FROM quality_scores WHERE level = 'session'")
    assert session[0][:2] == (4, 120_000) and session[0][2] == pytest.approx((GOOD + BAD) / 2)
    assert sorted(r[0] for r in rows(store, "SELECT issue_type FROM quality_issues")) == ["high_packet_loss",
                                                                                      "high_rtt"]
    store.close()
