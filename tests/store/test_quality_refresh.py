"""A live session's sample quality waits while its next derivation is due (setting quality_refresh_s,
store/duckdb/rescoring.py): a derivation written while newer commits of its session wait keeps the scores,
sample issues and projectData measures of its last scoring, for at most quality_refresh_s; the derivation after
its last events re-scores it, and the store ends where a rebuild does. Scores by hand:
tests/query/test_quality_api.py."""

from __future__ import annotations

import time

import pytest

from tests.query.test_quality_api import BAD, GOOD, call
from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.store.test_quality_sql import HOUR, T0, issues, scores
from tests.support.stores import rows
from videoinsights.derive.engine import derive_all, derive_until_clean, finish_batch, start_batch
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.rescoring import RescoreClock
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"


def measures(store: DuckDBStore) -> tuple[float, float]:
    """The session's scored publisher ms in its endpoint-day rows and in the daily rollup (projectData's)."""
    return (rows(store, "SELECT sum(pub_scored_ms) FROM session_endpoint_days WHERE session_id = 'live'")[0][0],
            rows(store, "SELECT sum(pub_scored_ms) FROM rollup_endpoint_daily")[0][0])


@pytest.mark.parametrize(("refresh_s", "pause_s", "waits"), [(3600, 0.0, True), (0, 0.0, False), (0.2, 0.3, False)],
                         ids=["scored-recently", "refresh-off", "scored-too-long-ago"])
def test_a_session_dirty_again_keeps_its_recent_quality_until_its_last_derivation(
        tmp_path, refresh_s: float, pause_s: float, waits: bool) -> None:
    # A publishes S (B subscribes); samples every 30 s: 1 and 2 good (RTT 50), 3 and 4 bad (RTT 300, 5% loss).
    events = call("live", T0, 2, range(3, 5))
    creations, samples = events[:4], [e for e in events if e["type"] == "publisherStats"]
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), quality_refresh_s=refresh_s)
    load_events(store, PROJECT, [*creations, *samples[:2]])
    derive_until_clean(store)
    assert scores(store, "live")[("session", "live")][2:5] == (2, 60_000, pytest.approx(GOOD))
    time.sleep(pause_s)

    # Sample 3 and a new participant C are read for a derivation; sample 4 is absorbed before it is written (a
    # re-scoring reads every sample absorbed by then).
    joined = {"id": "live-C", "type": "connectionCreated", "sessionId": "live", "timestamp": T0 + 80_000,
              "connectionId": "live-C"}
    load_events(store, PROJECT, [samples[2], joined])
    away = start_batch(store, 10)
    assert away is not None and away.keys == [(PROJECT, "live")]
    load_events(store, PROJECT, [samples[3]])
    store.absorb_new_events()
    assert finish_batch(store, away) == (1, 0)

    assert rows(store, "SELECT connection_id FROM connections WHERE session_id = 'live' ORDER BY 1") == [
        ("live-A",), ("live-B",), ("live-C",)]  # the derivation itself was written
    assert store.dirty_sessions(10) == [(PROJECT, "live")]  # sample 4 waits for the next one
    session = scores(store, "live")[("session", "live")]
    if waits:  # the quality of the first derivation, all of it
        assert session[2:5] == (2, 60_000, pytest.approx(GOOD))
        assert measures(store) == (60_000, 60_000)
        assert store.quality_kept() == 1
    else:  # re-scored from every sample absorbed when written: 3, and 4 too
        assert session[2:5] == (4, 120_000, pytest.approx((GOOD + BAD) / 2))
        assert measures(store) == (120_000, 120_000)
        assert store.quality_kept() == 0
    assert set(scores(store, "live")) == {("stream", "live-S"), ("connection", "live-A"), ("meeting", "0"),
                                          ("session", "live")}  # (only the publisher sends samples)

    # nothing newer: re-scored whatever the interval, the two bad samples now an issue of each kind
    assert derive_until_clean(store) == 1  # (and the monthly rollups, as a rebuild's end)
    assert scores(store, "live")[("session", "live")][2:5] == (4, 120_000, pytest.approx((GOOD + BAD) / 2))
    assert measures(store) == (120_000, 120_000)
    assert [i[0] for i in issues(store, "live")] == ["high_packet_loss", "high_rtt"]
    incremental = snapshot(store)
    derive_all(store)
    assert_same_rows(snapshot(store), incremental)
    store.close()


def test_the_clock_lets_only_recently_scored_sessions_wait() -> None:
    now = [100.0]
    clock = RescoreClock(30, lambda: now[0])
    a, b, c = ("p", "a"), ("p", "b"), ("p", "c")
    assert clock.waiting([a, b]) == set()  # never scored here (e.g. before a restart)
    clock.written([a, b], kept=0)
    now[0] = 129.0
    assert clock.waiting([a, c]) == {a}  # c not scored; b not dirty again
    clock.written([c], kept=1)
    now[0] = 130.5
    assert clock.waiting([a, b, c]) == {c}  # a and b scored 30.5 s ago
    clock.forget()
    assert clock.waiting([c]) == set() and clock.waited == 1
    assert RescoreClock(0, lambda: now[0]).waiting([a]) == set()


def test_a_step_with_a_waiting_session_and_a_scored_one_rolls_up_both(tmp_path) -> None:
    """Scoring narrows the step's `keys` to the sessions it scores, and their bounds with it (schema.KEYS_BOUNDS_SET);
    the rest of the step is about all of them again. Here the waiting session's new minute lies before the scored
    session's first event: rolled up only if the step's bounds are the whole batch's again after scoring."""
    live = call("live", T0, 2, range(3, 5))
    creations, samples = live[:4], [e for e in live if e["type"] == "publisherStats"]
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), quality_refresh_s=3600)
    load_events(store, PROJECT, [*creations, *samples[:2]])
    derive_until_clean(store)

    later = call("later", T0 + 3 * HOUR, 2, range(0))[:4]  # a new session, hours after: scored by the step
    load_events(store, PROJECT, [samples[2], *later])  # live's third sample: a minute it had no row of
    away = start_batch(store, 10)
    assert away is not None and sorted(away.keys) == [(PROJECT, "later"), (PROJECT, "live")]
    load_events(store, PROJECT, [samples[3]])
    store.absorb_new_events()  # live is dirty again: its recent quality waits
    assert finish_batch(store, away) == (2, 0)
    assert store.quality_kept() == 1

    minutes = rows(store, "SELECT bucket, sum(published_minutes) FROM session_endpoint_minutes GROUP BY bucket "
                          "ORDER BY bucket")
    rolled_up = rows(store, "SELECT bucket, sum(published_minutes) FROM rollup_endpoint_minutely GROUP BY bucket "
                            "ORDER BY bucket")
    assert [b for b, _ in minutes if b < T0 + HOUR] == [T0, T0 + 60_000]  # live's minutes, the second one new
    assert rolled_up == minutes
    store.close()
