"""quality_buckets written and read with bounds on first samples (store/duckdb/quality.py). The absorb finds the
stored bands it adds to with `first_ts >=` the new samples' sessions' first event, falling back to the upsert should
a band lie below it; a derive step reads its entities' bands from the batch's oldest session on, and a band whose
first sample is that session's first event must be read."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import duckdb

from tests.query.test_quality_api import call
from tests.support import duckdb_file
from videoinsights.derive.engine import derive_until_clean
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.quality import UNKNOWN_FIRST_TS
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
HOUR = 3_600_000
T0 = day_start_ms(la_day(int(time.time() * 1000)) - timedelta(days=2)) + 10 * HOUR
# score_ms is a sum of doubles: the order of the additions shows in its last digits
BANDS = "SELECT ekey, day, bucket, samples, weight_ms, round(score_ms, 6), min_score FROM quality_buckets ORDER BY ALL"


def absorbed(path: str, *parts: list[dict], in_parts: bool = True) -> DuckDBStore:
    store = DuckDBStore(path)
    store._stats_in_parts = in_parts
    for events in parts:
        assert load_events(store, PROJECT, events).accepted == len(events)
        store.absorb_new_events()
    store.absorb_new_events()  # nothing new: the late samples parked meanwhile are taken (late_samples.py)
    return store


def test_bands_added_to_in_parts_equal_those_absorbed_at_once(tmp_path) -> None:
    events = call("p", T0, 20, range(11, 21))
    late = events[20:30]  # samples 17-26 arrive after the later ones: their successors' weights change
    first, rest = events[:20], events[30:] + late
    random.Random(5).shuffle(rest)
    stepwise = absorbed(str(tmp_path / "a.duckdb"), first, rest[:15], rest[15:])
    assert stepwise._stats_in_parts  # no stored band fell below its bound
    once = absorbed(str(tmp_path / "b.duckdb"), events)
    upsert = absorbed(str(tmp_path / "c.duckdb"), first, rest[:15], rest[15:], in_parts=False)
    rows = stepwise.reader().execute(BANDS).fetchall()
    assert sum(r[3] for r in rows) == 40
    assert rows == once.reader().execute(BANDS).fetchall() == upsert.reader().execute(BANDS).fetchall()
    for store in (stepwise, once, upsert):
        store.close()


def test_a_band_below_its_bound_falls_back_to_the_upsert(tmp_path) -> None:
    """Should a stored band lie below its session's first event (the bound would miss it and the insert meet its
    primary key), the absorb is done again with the upserts: the sample is counted once."""
    events = call("f", T0, 2, range(0))  # 4 samples alike: one band
    store = absorbed(str(tmp_path / "s.duckdb"), events[:6])  # the lifecycle's 4 and 2 samples
    store._dcon.execute("UPDATE quality_buckets SET first_ts = first_ts - ?", [HOUR])
    load_events(store, PROJECT, events[6:])
    store.absorb_new_events()
    assert not store._stats_in_parts
    assert store.reader().execute("SELECT sum(samples), count(*) FROM quality_buckets").fetchall() == [(4, 1)]
    store.close()


def test_a_band_that_began_with_the_oldest_session_is_read(tmp_path) -> None:
    """The session's first event is its stream's first sample, so the band's first_ts equals the bounds: the
    absorb's (the later samples are added to it) and the step's."""
    events = call("o", T0, 2, range(0))
    first = {**events[4], "id": "o-first", "timestamp": T0}  # a sample at the session's first instant
    store = absorbed(str(tmp_path / "s.duckdb"), [*events[:5], first], events[5:])
    assert store._stats_in_parts
    assert store.reader().execute("SELECT min(first_ts) FROM quality_buckets").fetchall() == [(T0,)]
    derive_until_clean(store)
    samples = store.reader().execute("SELECT samples FROM quality_scores WHERE level = 'stream'").fetchall()
    assert samples == [(5,)]
    store.close()


def test_a_version_11_file_has_its_bands_added_to(tmp_path) -> None:
    """Bands stored before first_ts existed (schema 12) are never skipped: the next samples add to them."""
    path = str(tmp_path / "v11.duckdb")
    events = call("m", T0, 4, range(0))
    absorbed(path, events[:6]).close()
    duckdb_file.as_single_file(path)
    con = duckdb.connect(path)  # quality_buckets as version 11 had it (a primary key: no column is dropped)
    con.execute("CREATE TABLE old_buckets AS SELECT * EXCLUDE (first_ts) FROM quality_buckets")
    con.execute("DROP TABLE quality_buckets")
    con.execute("ALTER TABLE old_buckets RENAME TO quality_buckets")
    con.execute("ALTER TABLE quality_buckets ADD PRIMARY KEY (ekey, day, bucket)")
    con.execute("UPDATE meta SET value = '11' WHERE key = 'schema_version'")
    con.close()
    store = DuckDBStore(path)
    assert store.reader().execute("SELECT DISTINCT first_ts FROM quality_buckets").fetchall() == [(UNKNOWN_FIRST_TS,)]
    load_events(store, PROJECT, events[6:])
    store.absorb_new_events()
    assert store._stats_in_parts
    once = absorbed(str(tmp_path / "once.duckdb"), events)
    assert store.reader().execute(BANDS).fetchall() == once.reader().execute(BANDS).fetchall()
    store.close()
    once.close()
